"""Every customer gets an answer: the tickets whose customer is waiting.

A customer is waiting when the ticket is unresolved and its last public message is
the customer's (no public reply from the desk since), for longer than
``settings.WAITING_CUSTOMER_HOURS``. Oldest first. The desk shows them on the
*Waiting* panel; each owner gets a daily e-mail listing theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from devdesk.accounts.models import User
from devdesk.tickets import access
from devdesk.tickets.models import Message, Ticket, TicketQuerySet
from devdesk.triage.models import WaitingDigest


def waiting_tickets(
    user: User, *, now: datetime | None = None, hours: int | None = None
) -> TicketQuerySet:
    """The tickets ``user`` may see whose customer has been waiting longer than
    ``hours`` (default: the setting) at ``now``, the longest waiting first."""
    return _waiting(access.visible_tickets(user), now=now, hours=hours)


def _waiting(
    tickets: TicketQuerySet, *, now: datetime | None, hours: int | None
) -> TicketQuerySet:
    now = now or timezone.now()
    hours = settings.WAITING_CUSTOMER_HOURS if hours is None else hours
    cutoff = now - timedelta(hours=hours)
    desk_reply_since = Message.objects.filter(
        ticket=OuterRef("pk"),
        kind=Message.Kind.PUBLIC,
        created_at__gte=OuterRef("last_customer_message_at"),
        author__isnull=False,
    ).exclude(author__role=User.Role.CUSTOMER)
    return (
        tickets.filter(
            status__in=Ticket.UNRESOLVED_STATUSES,
            last_customer_message_at__lte=cutoff,
            merged_into__isnull=True,
        )
        .exclude(Exists(desk_reply_since))
        .order_by("last_customer_message_at", "pk")
    )


@dataclass(frozen=True)
class DigestRun:
    sent: int
    skipped: int


def send_waiting_digests(*, now: datetime | None = None) -> DigestRun:
    """E-mail each owner (or, for a ticket without one, its assignee) the list of
    their tickets whose customer is waiting; at most once per person per day.

    Safe to run twice: a person's row for the day is claimed (unique per person and
    day) in the same transaction as the mail is handed over, so a second run skips
    them, and a failed send rolls the claim back for the next run to try again.
    """
    now = now or timezone.now()
    day = timezone.localdate(now)
    by_person: dict[int, list[Ticket]] = {}
    waiting = _waiting(Ticket.objects.all(), now=now, hours=None).filter(
        Q(owner__isnull=False) | Q(assignee__isnull=False)
    )
    for ticket in waiting.only(
        "id", "number", "subject", "owner", "assignee", "last_customer_message_at"
    ):
        person_id = ticket.owner_id or ticket.assignee_id
        assert person_id is not None  # noqa: S101 - filtered above
        by_person.setdefault(person_id, []).append(ticket)
    sent = skipped = 0
    people = User.objects.filter(pk__in=by_person, is_active=True)
    for person in people.order_by("pk"):
        if _send_one(person, by_person[person.pk], day=day, now=now):
            sent += 1
        else:
            skipped += 1
    return DigestRun(sent=sent, skipped=skipped)


def _send_one(person: User, tickets: list[Ticket], *, day: date, now: datetime) -> bool:
    try:
        with transaction.atomic():
            WaitingDigest.objects.create(
                recipient=person, day=day, ticket_count=len(tickets), sent_at=now
            )
            send_mail(
                subject=f"{len(tickets)} customer{'s' if len(tickets) != 1 else ''} "
                "waiting for an answer",
                message=digest_text(person, tickets, now=now),
                from_email=None,
                recipient_list=[person.email],
            )
    except IntegrityError:  # already mailed today
        return False
    return True


def digest_text(person: User, tickets: list[Ticket], *, now: datetime) -> str:
    """The plain-text body of a person's daily list of waiting tickets."""
    lines = [
        f"Hello {person.first_name},",
        "",
        "These customers of yours wrote last and are waiting for an answer, "
        "the longest first:",
        "",
    ]
    for ticket in tickets:
        since = ticket.last_customer_message_at or now
        hours = int((now - since).total_seconds() // 3600)
        url = settings.SITE_URL + reverse("desk:ticket-detail", args=[ticket.number])
        lines.append(f"- {ticket.reference} {ticket.subject} ({hours} h) {url}")
    lines += ["", "Every customer gets an answer, even an unwelcome one."]
    return "\n".join(lines)
