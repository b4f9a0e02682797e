"""Cool-down: a ticket whose customer is upset, or writing in a burst, waits for a
person. While ``Ticket.cooldown_until`` lies ahead, automatic answers hold (the
e-mail acknowledgement; nudges and auto-replies that later parts add read the same
field), and the desk shows why and until when. Customers never see any of it.

- :func:`hold` starts (or extends) it; the rules engine calls it too.
- :func:`release` ends it: a calm message, the time running out, an agent.
- :func:`note_message` is what happens when a customer writes: the message is
  scored, counted, and the ticket held or released.
- :func:`release_expired` is the periodic pass ending cool-downs whose time is up.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from devdesk.accounts.models import User
from devdesk.tickets import access
from devdesk.tickets.errors import TicketError
from devdesk.tickets.events import record_event
from devdesk.tickets.models import Message, Ticket, TicketEvent
from devdesk.tickets.services import lock_and_refresh
from devdesk.triage import sentiment
from devdesk.triage.models import MessageSentiment

logger = logging.getLogger(__name__)

REASON_MAX_CHARS = 200


def hold(
    ticket: Ticket,
    *,
    reason: str,
    until: datetime | None = None,
    acting_user: User | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Put the ticket in cool-down until ``until`` (default: ``COOLDOWN_MINUTES``
    from ``now``), recording why; an event ``cooldown_started`` each time.

    A ticket already cooling down keeps the later of the two ends and takes the
    new reason (the event says ``extended``). ``acting_user=None`` is the system
    (the burst and sentiment checks, the rules engine). Locks the ticket's row.

    Raises :class:`TicketError`: ``not_allowed`` (403) for a person who may not
    edit the ticket, ``reason_required``, ``cooldown_in_past`` for an end not
    after ``now``, ``ticket_resolved`` for a solved, closed or merged ticket.
    """
    now = now or timezone.now()
    if acting_user is not None and not access.can_edit_ticket(acting_user, ticket):
        raise TicketError(
            "not_allowed", "You cannot put this ticket in cool-down.", status=403
        )
    reason = " ".join(reason.split())[:REASON_MAX_CHARS]
    if not reason:
        raise TicketError("reason_required", "Say why the ticket cools down.")
    until = until or now + timedelta(minutes=settings.COOLDOWN_MINUTES)
    if until <= now:
        raise TicketError("cooldown_in_past", "A cool-down must end later than now.")
    with transaction.atomic():
        lock_and_refresh(ticket)
        if not ticket.is_unresolved or ticket.merged_into_id:
            raise TicketError(
                "ticket_resolved",
                f"{ticket.reference} is {ticket.get_status_display().lower()}: "
                "there is nothing to hold.",
            )
        extended = ticket.is_cooling_down(now)
        if extended and ticket.cooldown_until and ticket.cooldown_until > until:
            until = ticket.cooldown_until
        ticket.cooldown_until = until
        ticket.cooldown_reason = reason
        ticket.save(update_fields=["cooldown_until", "cooldown_reason"])
        record_event(
            ticket,
            TicketEvent.Kind.COOLDOWN_STARTED,
            actor=acting_user,
            reason=reason,
            until=until.isoformat(),
            extended=extended,
        )
    return ticket


def release(
    ticket: Ticket,
    *,
    reason: str,
    acting_user: User | None = None,
    now: datetime | None = None,
) -> bool:
    """End the ticket's cool-down; an event ``cooldown_ended`` with ``reason``.

    Returns False (and records nothing) when there was none to end, so running
    twice is harmless. Raises :class:`TicketError` (403) for a person who may
    not edit the ticket. Locks the ticket's row.
    """
    if acting_user is not None and not access.can_edit_ticket(acting_user, ticket):
        raise TicketError(
            "not_allowed", "You cannot end this ticket's cool-down.", status=403
        )
    now = now or timezone.now()
    with transaction.atomic():
        lock_and_refresh(ticket)
        if ticket.cooldown_until is None:
            return False
        held_reason = ticket.cooldown_reason
        planned = ticket.cooldown_until
        ticket.cooldown_until = None
        ticket.cooldown_reason = ""
        ticket.save(update_fields=["cooldown_until", "cooldown_reason"])
        record_event(
            ticket,
            TicketEvent.Kind.COOLDOWN_ENDED,
            actor=acting_user,
            reason=" ".join(reason.split())[:REASON_MAX_CHARS],
            held_for=held_reason,
            planned_until=planned.isoformat(),
            early=planned > now,
        )
    return True


def release_expired(*, now: datetime | None = None) -> int:
    """End every cool-down whose time is up (reason "time is up"); returns how
    many. Safe to run twice or side by side: each release locks its row and
    finds nothing left to end the second time."""
    now = now or timezone.now()
    released = 0
    expired = Ticket.objects.filter(cooldown_until__lte=now).order_by("pk")
    for ticket in expired.iterator():
        if release(ticket, reason="time is up", now=now):
            released += 1
    return released


def burst_size(author: User, *, now: datetime) -> int:
    """How many public messages ``author`` wrote in the last
    ``COOLDOWN_BURST_MINUTES`` up to ``now`` (new tickets included)."""
    since = now - timedelta(minutes=settings.COOLDOWN_BURST_MINUTES)
    return Message.objects.filter(
        author=author,
        kind=Message.Kind.PUBLIC,
        created_at__gt=since,
        created_at__lte=now,
    ).count()


def note_message(message: Message, *, now: datetime | None = None) -> str:
    """React to a customer's public message: score it, then hold or release its
    ticket. Returns what it did: ``"held"``, ``"released"`` or ``""``.

    1. Only customers' public messages count; the score is stored (desk only).
    2. The ticket is resolved or merged: nothing more.
    3. A burst (``COOLDOWN_BURST_MESSAGES`` within ``COOLDOWN_BURST_MINUTES``) or
       an angry message (score at or below ``COOLDOWN_ANGRY_SCORE``) holds it for
       ``COOLDOWN_MINUTES`` from the message; a message older than that holds
       nothing (history being imported).
    4. Otherwise a calm message (above ``COOLDOWN_CALM_SCORE``) ends a cool-down.
    """
    author = message.author
    if author is None or not author.is_customer or message.is_internal:
        return ""
    now = now or timezone.now()
    value = sentiment.score(message.body)
    angry = value <= settings.COOLDOWN_ANGRY_SCORE
    MessageSentiment.objects.update_or_create(
        message=message, defaults={"score": value, "is_angry": angry, "scored_at": now}
    )
    ticket = message.ticket
    if not ticket.is_unresolved or ticket.merged_into_id:
        return ""
    until = message.created_at + timedelta(minutes=settings.COOLDOWN_MINUTES)
    written = burst_size(author, now=message.created_at)
    reasons = []
    if written >= settings.COOLDOWN_BURST_MESSAGES > 0:
        reasons.append(
            f"burst: {written} messages in {settings.COOLDOWN_BURST_MINUTES} minutes"
        )
    if angry:
        reasons.append(f"angry message (sentiment {value:+.2f})")
    if reasons:
        if until <= now:
            return ""
        hold(ticket, reason="; ".join(reasons), until=until, now=now)
        return "held"
    if value > settings.COOLDOWN_CALM_SCORE and ticket.is_cooling_down(now):
        release(ticket, reason=f"calm message (sentiment {value:+.2f})", now=now)
        return "released"
    return ""


def on_message_added(event: TicketEvent) -> None:
    """After commit of a new message: :func:`note_message` for it."""
    message_id = event.data.get("message_id")
    if event.data.get("message_kind") != Message.Kind.PUBLIC or not message_id:
        return
    message = (
        Message.objects.select_related("author", "ticket").filter(pk=message_id).first()
    )
    if message is not None:
        note_message(message)
