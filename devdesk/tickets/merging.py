"""Merging two tickets into one, and splitting messages out of a ticket.

Each undoes the other: a merge is undone by splitting the merged messages back into
the source ticket (:func:`undo_merge`), and a split is undone by merging the new
ticket back into the one it came from.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from devdesk.accounts.models import User
from devdesk.tickets import access
from devdesk.tickets.errors import TicketError
from devdesk.tickets.events import record_event
from devdesk.tickets.models import Message, Ticket, TicketEvent
from devdesk.tickets.services import (
    _create_message,
    add_message,
    check_subject,
    lock_and_refresh,
    next_ticket_number,
)

Status = Ticket.Status


def default_merge_notices(source: Ticket, target: Ticket) -> tuple[str, str]:
    """The texts customers are sent by default: (to the source's, to the target's)."""
    return (
        f"Your request {source.reference} is the same problem as {target.reference}, "
        f"so we merged them. The conversation continues on {target.reference}.",
        f"We merged {source.reference} ({source.subject}) into this ticket so the "
        "whole conversation is in one place.",
    )


def merge_tickets(
    source: Ticket,
    target: Ticket,
    *,
    acting_user: User,
    notify_source: bool = True,
    notify_target: bool = False,
    source_notice: str = "",
    target_notice: str = "",
) -> Ticket:
    """Move the source's messages, attachments, followers and tags into the target.

    The source is closed and keeps ``merged_into`` as a pointer; its history stays
    readable from the target. Customers are told by a public reply on each ticket the
    agent chose to notify (texts default to :func:`default_merge_notices`).

    Raises :class:`TicketError` when merging a ticket into itself, into a ticket that
    is itself merged, across organizations (a customer would see another
    organization's conversation), or without permission.
    """
    if not access.can_merge_and_split(acting_user):
        raise TicketError("not_allowed", "You cannot merge tickets.", status=403)
    if source.pk == target.pk:
        raise TicketError("merge_into_self", "A ticket cannot be merged into itself.")
    if source.merged_into_id or target.merged_into_id:
        raise TicketError(
            "already_merged", "One of these tickets is already merged into another."
        )
    if source.organization_id != target.organization_id:
        raise TicketError(
            "cross_organization",
            "Tickets of different organizations cannot be merged: each customer would "
            "see the other's conversation.",
        )
    if target.status == Status.CLOSED:
        raise TicketError("target_closed", f"{target.reference} is closed.")
    default_source, default_target = default_merge_notices(source, target)
    with transaction.atomic():
        lock_and_refresh(source, target)
        if notify_source:
            add_message(
                source,
                author=acting_user,
                body=source_notice.strip() or default_source,
                channel=Ticket.Channel.AGENT,
            )
        _move_messages(
            list(source.messages.values_list("pk", flat=True)),
            source=source,
            target=target,
            acting_user=acting_user,
            kinds=(TicketEvent.Kind.MERGED_INTO, TicketEvent.Kind.MERGED_FROM),
        )
        followers = {*source.followers.all(), *target.followers.all()}
        if source.requester_id != target.requester_id:
            followers.add(source.requester)
        target.followers.set(followers)
        target.tags.add(*source.tags.all())
        now = timezone.now()
        source.merged_into = target
        source.status = Status.CLOSED
        source.closed_at = now
        source.updated_at = now
        source.save(update_fields=["merged_into", "status", "closed_at", "updated_at"])
        target.updated_at = now
        if target.status == Status.SOLVED:
            target.status = Status.OPEN
            target.solved_at = None
        target.save(update_fields=["updated_at", "status", "solved_at"])
        if notify_target:
            add_message(
                target,
                author=acting_user,
                body=target_notice.strip() or default_target,
                channel=Ticket.Channel.AGENT,
            )
    return target


def split_ticket(
    ticket: Ticket,
    *,
    message_ids: Sequence[int],
    acting_user: User,
    subject: str = "",
) -> Ticket:
    """Move the chosen messages into a new ticket and return it.

    The new ticket keeps the organization, product and priority; its requester is the
    customer who wrote the first moved message (else the original requester).
    Raises :class:`TicketError` when no message, or every message, is chosen.
    """
    if not access.can_merge_and_split(acting_user):
        raise TicketError("not_allowed", "You cannot split tickets.", status=403)
    chosen = list(ticket.messages.filter(pk__in=message_ids).select_related("author"))
    if not chosen or len(chosen) != len(set(message_ids)):
        raise TicketError("no_messages", "Choose messages of this ticket to split out.")
    if len(chosen) == ticket.messages.count():
        raise TicketError(
            "split_everything", "Leave at least one message on the original ticket."
        )
    first = chosen[0]
    requester = (
        first.author if first.author and first.author.is_customer else ticket.requester
    )
    title = check_subject(subject or f"Split from {ticket.reference}: {ticket.subject}")
    with transaction.atomic():
        now = timezone.now()
        new = Ticket.objects.create(
            number=next_ticket_number(),
            subject=title[:255],
            status=Status.OPEN,
            priority=ticket.priority,
            channel=ticket.channel,
            product=ticket.product,
            organization=ticket.organization,
            requester=requester,
            owner=ticket.owner,
            assignee=acting_user,
            team=ticket.team,
            split_from=ticket,
            created_at=now,
            updated_at=now,
        )
        new.tags.set(ticket.tags.all())
        record_event(new, TicketEvent.Kind.CREATED, actor=acting_user, channel="split")
        _move_messages(
            [m.pk for m in chosen], source=ticket, target=new, acting_user=acting_user
        )
    return new


def _move_messages(
    message_ids: list[int],
    *,
    source: Ticket,
    target: Ticket,
    acting_user: User,
    undo_of: str = "",
    kinds: tuple[str, str] = (TicketEvent.Kind.SPLIT_TO, TicketEvent.Kind.SPLIT_FROM),
) -> None:
    """Move messages between tickets and record the pair of events (split by default,
    or merge), each naming the other ticket and the messages moved."""
    Message.objects.filter(pk__in=message_ids).update(ticket=target)
    extra = {"undo_of": undo_of} if undo_of else {}
    out_kind, in_kind = kinds
    record_event(
        source,
        out_kind,
        actor=acting_user,
        target=target.number,
        messages=message_ids,
    )
    record_event(
        target,
        in_kind,
        actor=acting_user,
        source=source.number,
        messages=message_ids,
        **extra,
    )
    Ticket.objects.filter(pk=source.pk).update(updated_at=timezone.now())


def undo_merge(source: Ticket, *, acting_user: User) -> Ticket:
    """Split a merged ticket's own messages back out of the ticket it was merged into.

    The source becomes open again with the messages that were first written on it;
    messages written on the target after the merge stay there. Returns the source.
    """
    if not access.can_merge_and_split(acting_user):
        raise TicketError("not_allowed", "You cannot split tickets.", status=403)
    if not source.merged_into_id:
        raise TicketError(
            "not_merged", f"{source.reference} is not merged into another ticket."
        )
    with transaction.atomic():
        target = Ticket.objects.select_for_update().get(pk=source.merged_into_id)
        returning = target.messages.filter(origin_ticket=source)
        _move_messages(
            list(returning.values_list("pk", flat=True)),
            source=target,
            target=source,
            acting_user=acting_user,
            undo_of="merge",
        )
        now = timezone.now()
        source.merged_into = None
        source.status = Status.OPEN
        source.closed_at = None
        source.updated_at = now
        source.save(update_fields=["merged_into", "status", "closed_at", "updated_at"])
        target.followers.remove(source.requester)
        _create_message(
            source,
            author=acting_user,
            body=f"Separated again from {target.reference}: this is its own problem after all.",
            kind=Message.Kind.INTERNAL,
            channel=Ticket.Channel.AGENT,
        )
        Ticket.objects.filter(pk=target.pk).update(updated_at=now)
    return source
