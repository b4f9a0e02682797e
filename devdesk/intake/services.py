"""One way in for every channel: the portal, the API, agents logging on behalf of a
customer, and (later) e-mail and docs feedback all call :func:`submit`.

Bursts fold here: a customer who opens a new request while they wrote on an
unresolved ticket of theirs within the last ``COOLDOWN_BURST_MINUTES`` gets the
request added to that ticket instead (:func:`burst_target`). Triage counts the
writes and puts the ticket in cool-down when they reach ``COOLDOWN_BURST_MESSAGES``.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from devdesk.accounts.models import User
from devdesk.intake.models import IdempotencyKey
from devdesk.tickets.errors import TicketError
from devdesk.tickets.events import record_event
from devdesk.tickets.models import Message, Ticket, TicketEvent
from devdesk.tickets.services import NewTicket, add_message, open_ticket
from devdesk.triage.scoring import recompute_score

# Channels where the desk, not the customer, decides a request is a new ticket.
UNFOLDED_CHANNELS = frozenset({Ticket.Channel.AGENT, Ticket.Channel.EVENT})


@dataclass(frozen=True)
class Submitted:
    ticket: Ticket
    created: bool  # False when an idempotent retry returned the earlier ticket
    # True when the request was added to the sender's open ticket (a burst).
    folded: bool = False
    # The message the request became (none for an idempotent retry).
    message: Message | None = None


def fingerprint(new: NewTicket) -> str:
    payload = {
        "subject": new.subject,
        "body": new.body,
        "product": new.product.pk if new.product else None,
        "priority": new.priority,
        "severity": new.severity,
        "production_down": new.is_production_down,
        "requester": new.requester.pk,
        "attachments": [u.sha256 for u in new.uploads],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def burst_target(new: NewTicket, *, now: datetime | None = None) -> Ticket | None:
    """The customer's ticket a new request from ``new.requester`` folds into, if any:
    the unresolved, unmerged ticket they requested on which a customer last wrote
    within ``COOLDOWN_BURST_MINUTES`` of ``now`` (default: the request's time). One
    query on the requester's tickets, run for every customer's new request.

    A request about another product than that ticket's is a different question and
    opens its own ticket; so do requests logged by the desk (agent, event) and
    requests from anyone but customers. ``COOLDOWN_BURST_MINUTES=0`` turns it off."""
    minutes = settings.COOLDOWN_BURST_MINUTES
    requester = new.requester
    if minutes <= 0 or not requester.is_customer or new.channel in UNFOLDED_CHANNELS:
        return None
    now = now or new.created_at or timezone.now()
    ticket = (
        Ticket.objects.filter(
            requester=requester,
            status__in=Ticket.UNRESOLVED_STATUSES,
            merged_into__isnull=True,
            last_customer_message_at__gt=now - timedelta(minutes=minutes),
            last_customer_message_at__lte=now,
        )
        .order_by("-last_customer_message_at", "-id")
        .first()
    )
    if ticket is None:
        return None
    if new.product and ticket.product_id and new.product.pk != ticket.product_id:
        return None
    return ticket


def _open_or_fold(new: NewTicket, *, acting_user: User | None, fold: bool) -> Submitted:
    """Open the ticket, or add the request to the sender's open one (see
    :func:`burst_target`)."""
    target = burst_target(new) if fold else None
    # One transaction: the caller's when there is one (no savepoint needed, and a
    # refused ticket must not spoil the caller's transaction), else a new one.
    outer = transaction.get_connection().in_atomic_block
    with nullcontext() if outer else transaction.atomic():
        if target is None:
            ticket = open_ticket(new, acting_user=acting_user)
            # The priority score goes in with the ticket.
            recompute_score(ticket, reason="created", acting_user=acting_user)
            return Submitted(ticket, created=True, message=ticket.opening_message)
        subject = " ".join(new.subject.split())
        message = add_message(
            target,
            author=new.requester,
            body=f"**{subject}**\n\n{new.body}" if subject else new.body,
            channel=new.channel,
            uploads=new.uploads,
            created_at=new.created_at,
        )
        record_event(
            target,
            TicketEvent.Kind.BURST_FOLDED,
            actor=acting_user,
            subject=subject,
            channel=new.channel,
        )
    return Submitted(target, created=False, folded=True, message=message)


def submit(
    new: NewTicket,
    *,
    acting_user: User | None,
    idempotency_key: str | None = None,
    fold_bursts: bool = True,
) -> Submitted:
    """Open a ticket from any channel, at most once per idempotency key, or add the
    request to the sender's open ticket when they are writing in a burst
    (:func:`burst_target`; ``fold_bursts=False`` never does, for imports).

    With a key, the same user sending the same request again gets the first ticket
    back (``created=False``); the same key with a different request is refused with
    ``idempotency_conflict`` (HTTP 409), since the client has mixed up two requests.

    Retries are rare, so the key is not looked up first: the ticket and the key's row
    are written in one transaction, and when the key's unique constraint refuses
    (a retry, or a concurrent one that won the race) all of it is undone and the
    earlier ticket is read. With files the key is looked up first after all, since
    a retry would store them again before the constraint refuses.
    """
    if not idempotency_key:
        return _open_or_fold(new, acting_user=acting_user, fold=fold_bursts)
    key = idempotency_key.strip()
    if not key or len(key) > 255:
        raise TicketError(
            "invalid_idempotency_key", "Idempotency-Key must be 1-255 characters."
        )
    owner = acting_user or new.requester
    digest = fingerprint(new)
    earlier = _earlier(owner, key).first() if new.uploads else None
    if earlier is None:
        try:
            with transaction.atomic():
                submitted = _open_or_fold(
                    new, acting_user=acting_user, fold=fold_bursts
                )
                IdempotencyKey.objects.create(
                    user=owner, key=key, request_hash=digest, ticket=submitted.ticket
                )
            return submitted
        except IntegrityError:
            earlier = _earlier(owner, key).first()
            if earlier is None:  # something else refused, not the key
                raise
    if earlier.request_hash != digest:
        raise TicketError(
            "idempotency_conflict",
            "This Idempotency-Key was already used for a different request.",
            status=409,
        )
    return Submitted(earlier.ticket, created=False)


def _earlier(owner: User, key: str) -> QuerySet[IdempotencyKey]:
    return IdempotencyKey.objects.filter(user=owner, key=key).select_related("ticket")
