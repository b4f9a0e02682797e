"""Every change to a ticket: opening, replying, status, fields, tags, escalation, macros.

Each service does its whole change in one transaction and writes an event for each
thing it changed. Merge and split live in :mod:`devdesk.tickets.merging`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from devdesk.accounts.models import Organization, Team, User
from devdesk.tickets import access
from devdesk.tickets.attachments import CheckedUpload
from devdesk.tickets.errors import TicketError
from devdesk.tickets.events import record_event, record_events
from devdesk.tickets.models import (
    Attachment,
    Macro,
    Message,
    Product,
    Tag,
    Ticket,
    TicketCounter,
    TicketEvent,
)

Status = Ticket.Status

# Which status may follow which. Reopening a closed ticket is not allowed: a customer
# who writes again after closure gets a follow-up ticket instead.
TRANSITIONS: dict[str, set[str]] = {
    Status.NEW: {
        Status.OPEN,
        Status.PENDING_CUSTOMER,
        Status.PENDING_ENGINEERING,
        Status.SOLVED,
    },
    Status.OPEN: {Status.PENDING_CUSTOMER, Status.PENDING_ENGINEERING, Status.SOLVED},
    Status.PENDING_CUSTOMER: {Status.OPEN, Status.PENDING_ENGINEERING, Status.SOLVED},
    Status.PENDING_ENGINEERING: {Status.OPEN, Status.PENDING_CUSTOMER, Status.SOLVED},
    Status.SOLVED: {Status.OPEN, Status.CLOSED},
    Status.CLOSED: set(),
}

TAG_RE = re.compile(r"^[\w-]{1,50}$", re.UNICODE)


def next_ticket_number() -> int:
    """Take the next ticket number; numbers are never reused.

    One ``UPDATE … RETURNING`` both increments the counter and reads it. The row stays
    locked until the caller's transaction ends, so concurrent openings take turns and
    never get the same number; a rolled-back opening gives its number back with the
    increment, and no ticket ever had it. The counter is made on first use.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tickets_ticketcounter SET value = value + 1 WHERE name = %s "
            "RETURNING value",
            ["ticket"],
        )
        row = cursor.fetchone()
    if row is None:  # the very first ticket: make the counter, then take from it
        TicketCounter.objects.get_or_create(name="ticket")
        return next_ticket_number()
    return int(row[0])


def lock_and_refresh(*tickets: Ticket) -> None:
    """Lock the tickets' rows for this transaction and reload the caller's objects,
    so a concurrent change is neither lost nor overwritten with stale values."""
    # SQLite has no row locks: its transactions (IMMEDIATE) hold the write lock.
    if connection.features.has_select_for_update:
        pks = sorted(t.pk for t in tickets)  # one lock order everywhere: no deadlocks
        list(
            Ticket.objects.select_for_update()
            .filter(pk__in=pks)
            .order_by("pk")
            .values_list("pk")
        )
    for ticket in tickets:
        ticket.refresh_from_db()


def check_subject(subject: str) -> str:
    subject = " ".join(subject.split())
    if not subject:
        raise TicketError("subject_required", "A subject is required.")
    if len(subject) > settings.TICKET_SUBJECT_MAX_CHARS:
        raise TicketError(
            "subject_too_long",
            f"The subject is longer than {settings.TICKET_SUBJECT_MAX_CHARS} characters.",
        )
    return subject


def check_body(body: str) -> str:
    if not body.strip():
        raise TicketError("body_required", "The message is empty.")
    if len(body) > settings.MESSAGE_BODY_MAX_CHARS:
        raise TicketError(
            "body_too_long",
            f"The message is longer than {settings.MESSAGE_BODY_MAX_CHARS:,} characters.",
        )
    return body


@dataclass(frozen=True)
class NewTicket:
    """Everything needed to open a ticket, whatever channel it came from."""

    requester: User
    subject: str
    body: str
    channel: str = Ticket.Channel.PORTAL
    product: Product | None = None
    priority: int = Ticket.Priority.NORMAL
    organization: Organization | None = None
    uploads: Sequence[CheckedUpload] = ()
    tags: Sequence[str] = ()
    created_at: datetime | None = None
    team: Team | None = None
    severity: str = Ticket.Severity.NORMAL
    is_production_down: bool = False


def open_ticket(new: NewTicket, *, acting_user: User | None) -> Ticket:
    """Create a ticket with its first message. Callers go through ``intake.submit()``.

    The first message is stored as already notified, and queues no notification:
    its author is the requester, and a new ticket has no assignee, owner or
    followers yet, so there is nobody to tell (see :mod:`.notifications`).

    Raises :class:`TicketError` for an empty or oversized subject or body, or a
    requester without an organization.
    """
    subject = check_subject(new.subject)
    body = check_body(new.body)
    organization_id = (
        new.organization.pk if new.organization else new.requester.organization_id
    )
    if organization_id is None:
        raise TicketError(
            "organization_required", "The requester does not belong to an organization."
        )
    now = new.created_at or timezone.now()
    # No savepoint: nothing in here is retried on its own, so when any step fails
    # the caller's whole transaction is undone anyway.
    with transaction.atomic(savepoint=False):
        ticket = Ticket.objects.create(
            number=next_ticket_number(),
            subject=subject,
            channel=new.channel,
            product=new.product,
            team=new.team,
            priority=new.priority,
            severity=new.severity,
            is_production_down=new.is_production_down,
            organization_id=organization_id,
            requester=new.requester,
            created_at=now,
            updated_at=now,
            last_customer_message_at=now if new.requester.is_customer else None,
        )
        created = TicketEvent(
            kind=TicketEvent.Kind.CREATED,
            actor=acting_user,
            data={"channel": new.channel, "requester": new.requester.email},
        )
        ticket.opening_message, message_added = _write_message(
            ticket,
            author=new.requester,
            body=body,
            kind=Message.Kind.PUBLIC,
            channel=new.channel,
            uploads=new.uploads,
            created_at=now,
            notify=False,
        )
        record_events(ticket, [created, message_added])
        if new.tags:
            set_tags(ticket, [*new.tags], acting_user=acting_user)
    return ticket


def add_system_note(
    ticket: Ticket, body: str, *, channel: str = Ticket.Channel.AGENT
) -> Message:
    """An internal note written by the desk itself (a bounce, an automatic reply
    from the customer's side): for the people on the ticket, never for customers."""
    with transaction.atomic():
        return _create_message(
            ticket,
            author=None,
            body=check_body(body[: settings.MESSAGE_BODY_MAX_CHARS]),
            kind=Message.Kind.INTERNAL,
            channel=channel,
        )


def _create_message(ticket: Ticket, **fields: Any) -> Message:
    """Store a message (the fields of :func:`_write_message`) and record its event."""
    message, message_added = _write_message(ticket, **fields)
    record_events(ticket, [message_added])
    return message


def _write_message(
    ticket: Ticket,
    *,
    author: User | None,
    body: str,
    kind: str,
    channel: str,
    uploads: Sequence[CheckedUpload] = (),
    created_at: datetime | None = None,
    notify: bool = True,
) -> tuple[Message, TicketEvent]:
    """Store a message and its attachments; returns it with its MESSAGE_ADDED event,
    for the caller to record. ``notify=False`` stores a message nobody is to be told
    about as notified already, and its event says so: no task is queued for it."""
    now = created_at or timezone.now()
    message = Message.objects.create(
        ticket=ticket,
        author=author,
        kind=kind,
        body=body,
        channel=channel,
        origin_ticket=ticket,
        created_at=now,
        notified_at=None if notify else now,
    )
    for upload in uploads:
        attachment = Attachment(
            message=message,
            filename=upload.filename,
            content_type=upload.content_type,
            size_bytes=upload.size_bytes,
            sha256=upload.sha256,
        )
        attachment.file.save(upload.filename, ContentFile(upload.content), save=False)
        attachment.save()
    data: dict[str, Any] = {
        "message_id": message.pk,
        "message_kind": kind,
        "attachments": len(uploads),
    }
    if not notify:
        data["notify"] = False
    return message, TicketEvent(
        kind=TicketEvent.Kind.MESSAGE_ADDED, actor=author, data=data
    )


def add_message(
    ticket: Ticket,
    *,
    author: User | None,
    body: str,
    kind: str = Message.Kind.PUBLIC,
    channel: str = Ticket.Channel.PORTAL,
    uploads: Sequence[CheckedUpload] = (),
    new_status: str | None = None,
    created_at: datetime | None = None,
) -> Message:
    """Add a public reply or internal note, with the status changes it implies
    (written at ``created_at``, default now: imports and tests pass the time).

    1. A customer's reply reopens a pending or solved ticket; a closed ticket refuses it.
    2. The first public reply from the desk sets ``first_response_at``; a new ticket
       answered by the desk becomes open.
    3. ``new_status`` (the "submit as" choice) is applied last.

    ``author=None`` is the desk itself (a rule's macro reply): allowed everything,
    and its public reply is not the desk's first response (no person answered).

    Raises :class:`TicketError` when the author may not write this kind of message.
    """
    body = check_body(body)
    if (
        author is not None
        and kind == Message.Kind.INTERNAL
        and not access.can_add_note(author, ticket)
    ):
        raise TicketError("not_allowed", "You cannot add internal notes.", status=403)
    if (
        author is not None
        and kind == Message.Kind.PUBLIC
        and not access.can_reply_publicly(author, ticket)
    ):
        raise TicketError(
            "not_allowed", "You cannot reply to the customer.", status=403
        )
    if ticket.merged_into_id:
        raise TicketError(
            "ticket_merged",
            f"This ticket was merged into #{ticket.merged_into.number}; reply there.",  # type: ignore[union-attr]
        )
    if ticket.status == Status.CLOSED:
        raise TicketError(
            "ticket_closed", "This ticket is closed. Open a new ticket to follow up."
        )
    with transaction.atomic():
        lock_and_refresh(ticket)
        message = _create_message(
            ticket,
            author=author,
            body=body,
            kind=kind,
            channel=channel,
            uploads=uploads,
            created_at=created_at,
        )
        now = message.created_at
        fields = ["updated_at"]
        ticket.updated_at = now
        if author is not None and author.is_customer:
            ticket.last_customer_message_at = now
            fields.append("last_customer_message_at")
            if ticket.status in {Status.PENDING_CUSTOMER, Status.SOLVED}:
                _set_status(ticket, Status.OPEN, actor=author, reason="customer_reply")
                fields.append("status")
        elif author is not None and kind == Message.Kind.PUBLIC:
            if ticket.first_response_at is None:
                ticket.first_response_at = now
                fields.append("first_response_at")
            if ticket.status == Status.NEW and new_status is None:
                _set_status(ticket, Status.OPEN, actor=author, reason="desk_reply")
                fields.append("status")
        ticket.save(update_fields=sorted(set(fields)))
        if new_status and new_status != ticket.status:
            change_status(ticket, new_status, acting_user=author)
    return message


def _set_status(
    ticket: Ticket, status: str, *, actor: User | None, reason: str = ""
) -> None:
    old = ticket.status
    ticket.status = status
    now = timezone.now()
    if status == Status.SOLVED:
        ticket.solved_at = now
    elif status == Status.CLOSED:
        ticket.closed_at = now
    elif old in {Status.SOLVED, Status.CLOSED}:
        ticket.solved_at = None
    record_event(
        ticket,
        TicketEvent.Kind.STATUS_CHANGED,
        actor=actor,
        old=old,
        new=status,
        reason=reason,
    )


def change_status(ticket: Ticket, status: str, *, acting_user: User | None) -> Ticket:
    """Move a ticket along its lifecycle.

    Raises :class:`TicketError` for a transition the lifecycle does not allow, and
    when solving a ticket nobody has answered publicly (every customer gets an answer).
    """
    if status not in Status.values:
        raise TicketError("invalid_status", f"Unknown status {status!r}.")
    if acting_user is not None and not access.can_change_status(acting_user, ticket):
        raise TicketError("not_allowed", "You cannot change the status.", status=403)
    if status == ticket.status:
        return ticket
    if status not in TRANSITIONS[ticket.status]:
        raise TicketError(
            "invalid_transition",
            f"A {ticket.get_status_display().lower()} ticket cannot become "
            f"{Status(status).label.lower()}.",
        )
    if status in {Status.SOLVED, Status.CLOSED} and not _has_desk_reply(ticket):
        raise TicketError(
            "reply_required",
            f"Send the customer a public reply before {_ending(status)}: everyone "
            "gets an answer.",
        )
    with transaction.atomic():
        _set_status(ticket, status, actor=acting_user)
        ticket.updated_at = timezone.now()
        ticket.save(update_fields=["status", "solved_at", "closed_at", "updated_at"])
    return ticket


def _ending(status: str) -> str:
    return "solving" if status == Status.SOLVED else "closing"


def _has_desk_reply(ticket: Ticket) -> bool:
    return (
        ticket.messages.filter(kind=Message.Kind.PUBLIC)
        .exclude(author__role=User.Role.CUSTOMER)
        .exclude(author__isnull=True)
        .exists()
    )


# Field name -> (event kind, how to show a value in the history).
_EDITABLE: dict[str, str] = {
    "subject": TicketEvent.Kind.SUBJECT_CHANGED,
    "priority": TicketEvent.Kind.PRIORITY_CHANGED,
    "owner": TicketEvent.Kind.OWNER_CHANGED,
    "assignee": TicketEvent.Kind.ASSIGNEE_CHANGED,
    "team": TicketEvent.Kind.TEAM_CHANGED,
    "product": TicketEvent.Kind.PRODUCT_CHANGED,
}


def _describe(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, User):
        return {"id": value.pk, "name": value.display_name}
    if isinstance(value, (Team, Product)):
        return {"id": value.pk, "name": value.name}
    return value


def update_ticket(
    ticket: Ticket, *, acting_user: User | None, **changes: Any
) -> list[str]:
    """Change any of subject, priority, owner, assignee, team, product; one event each.

    ``acting_user=None`` is the desk itself (a rule). Returns the names of the fields
    that really changed. Raises :class:`TicketError`
    when the user may not edit tickets, the owner or assignee cannot work tickets,
    or a value is invalid.
    """
    unknown = set(changes) - set(_EDITABLE)
    if unknown:
        raise TicketError(
            "invalid_field", f"Cannot change {', '.join(sorted(unknown))}."
        )
    if acting_user is not None and not access.can_edit_ticket(acting_user, ticket):
        raise TicketError("not_allowed", "You cannot change this ticket.", status=403)
    if "subject" in changes:
        changes["subject"] = check_subject(changes["subject"])
    if "priority" in changes and changes["priority"] not in Ticket.Priority.values:
        raise TicketError("invalid_priority", "Priority must be 1 (low) to 4 (urgent).")
    for person_field in ("owner", "assignee"):
        person = changes.get(person_field)
        if person is not None and not access.can_use_agent_desk(person):
            raise TicketError(
                f"invalid_{person_field}",
                f"The {person_field} must be someone who works tickets, not a customer.",
            )
    changed: list[str] = []
    with transaction.atomic():
        for name, value in changes.items():
            old = getattr(ticket, name)
            if old == value:
                continue
            setattr(ticket, name, value)
            record_event(
                ticket,
                _EDITABLE[name],
                actor=acting_user,
                old=_describe(old),
                new=_describe(value),
            )
            changed.append(name)
        if changed:
            ticket.updated_at = timezone.now()
            ticket.save(update_fields=[*changed, "updated_at"])
    return changed


def normalize_tags(names: Iterable[str]) -> list[str]:
    clean: list[str] = []
    for raw in names:
        name = raw.strip().lower().replace(" ", "-")
        if not name:
            continue
        if not TAG_RE.match(name):
            raise TicketError(
                "invalid_tag", f"Tag {raw!r} may only hold letters, digits, - and _."
            )
        if name not in clean:
            clean.append(name)
    return clean


def set_tags(
    ticket: Ticket, names: Iterable[str], *, acting_user: User | None
) -> list[str]:
    """Replace the ticket's tags; records one event with what was added and removed.

    ``acting_user=None`` is the system itself (rules, imports); a person must be
    allowed to edit the ticket, else :class:`TicketError` (403).
    """
    if acting_user is not None and not access.can_tag(acting_user, ticket):
        raise TicketError("not_allowed", "You cannot change the tags.", status=403)
    wanted = normalize_tags(names)
    with transaction.atomic():
        current = set(ticket.tags.values_list("name", flat=True))
        added = [n for n in wanted if n not in current]
        removed = sorted(current - set(wanted))
        if not added and not removed:
            return wanted
        tags = [Tag.objects.get_or_create(name=n)[0] for n in wanted]
        ticket.tags.set(tags)
        record_event(
            ticket,
            TicketEvent.Kind.TAGS_CHANGED,
            actor=acting_user,
            added=added,
            removed=removed,
        )
        Ticket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now())
    return wanted


def add_tags(
    ticket: Ticket, names: Iterable[str], *, acting_user: User | None
) -> list[str]:
    current = list(ticket.tags.values_list("name", flat=True))
    return set_tags(ticket, [*current, *normalize_tags(names)], acting_user=acting_user)


def set_followers(ticket: Ticket, users: Iterable[User], *, acting_user: User) -> None:
    """Replace who follows (is copied on) the ticket; they must be able to see it."""
    users = list(users)
    for user in users:
        if not access.visible_tickets(user).filter(pk=ticket.pk).exists():
            raise TicketError(
                "invalid_follower", f"{user.display_name} cannot see this ticket."
            )
    with transaction.atomic():
        before = set(ticket.followers.values_list("pk", flat=True))
        after = {u.pk for u in users}
        if before == after:
            return
        ticket.followers.set(users)
        record_event(
            ticket,
            TicketEvent.Kind.FOLLOWERS_CHANGED,
            actor=acting_user,
            added=sorted(after - before),
            removed=sorted(before - after),
        )


def escalate_ticket(
    ticket: Ticket, *, team: Team, note: str, acting_user: User | None
) -> Ticket:
    """Hand the problem to an engineering team. The owner stays the customer's contact;
    the team's members can now see the ticket and the note explains what is needed.
    ``acting_user=None`` is the desk itself (a rule)."""
    if acting_user is not None and not access.can_edit_ticket(acting_user, ticket):
        raise TicketError("not_allowed", "You cannot escalate this ticket.", status=403)
    with transaction.atomic():
        ticket.escalated_team = team
        if ticket.owner is None:
            ticket.owner = acting_user
        ticket.save(update_fields=["escalated_team", "owner"])
        record_event(
            ticket,
            TicketEvent.Kind.ESCALATED,
            actor=acting_user,
            team={"id": team.pk, "name": team.name},
        )
        if note.strip():
            add_message(
                ticket, author=acting_user, body=note, kind=Message.Kind.INTERNAL
            )
        if ticket.status != Status.PENDING_ENGINEERING:
            change_status(ticket, Status.PENDING_ENGINEERING, acting_user=acting_user)
    return ticket


PLACEHOLDER_RE = re.compile(r"\{\{\s*([a-z_]+(?:\.[a-z_]+)?)\s*\}\}")


def macro_context(ticket: Ticket, user: User | None) -> dict[str, str]:
    """Placeholder values; ``user=None`` (a rule) signs as the site."""
    requester = ticket.requester
    agent_name = user.display_name if user else settings.SITE_NAME
    agent_first_name = user.first_name if user else settings.SITE_NAME
    return {
        "customer.name": requester.display_name,
        "customer.first_name": requester.first_name,
        "customer.email": requester.email,
        "organization.name": ticket.organization.name,
        "ticket.number": str(ticket.number),
        "ticket.reference": ticket.reference,
        "ticket.subject": ticket.subject,
        "ticket.product": ticket.product.name if ticket.product else "",
        "agent.name": agent_name,
        "agent.first_name": agent_first_name,
        "site.name": settings.SITE_NAME,
    }


def render_macro(macro: Macro, ticket: Ticket, user: User | None) -> str:
    """Fill the macro's ``{{ placeholders }}``; unknown ones are left visible to fix."""
    values = macro_context(ticket, user)
    return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), macro.body)


def apply_macro(
    ticket: Ticket,
    macro: Macro,
    *,
    acting_user: User | None,
    body: str | None = None,
    uploads: Sequence[CheckedUpload] = (),
) -> Message:
    """Send the macro's reply (optionally edited, with attachments) and apply its
    status and tags. ``acting_user=None`` is the desk itself (a rule)."""
    text = body if body is not None else render_macro(macro, ticket, acting_user)
    with transaction.atomic():
        message = add_message(
            ticket,
            author=acting_user,
            body=text,
            kind=macro.kind,
            channel=Ticket.Channel.AGENT,
            uploads=uploads,
            new_status=macro.set_status or None,
        )
        if macro.add_tags:
            add_tags(ticket, macro.add_tags.split(","), acting_user=acting_user)
        Macro.objects.filter(pk=macro.pk).update(usage_count=F("usage_count") + 1)
        record_event(
            ticket, TicketEvent.Kind.MACRO_APPLIED, actor=acting_user, macro=macro.name
        )
    return message
