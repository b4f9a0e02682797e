"""What conditions read: one ticket, loaded once, with what its event brought.

Everything a built-in condition reads is here; what is costly to read (the time of
the last status change, the ticket's text) is read only when a condition asks, and
the periodic pass reads it for many tickets at once (:func:`with_time_facts`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from django.db import connection
from django.db.models import DateTimeField, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from devdesk.accounts.models import User
from devdesk.tickets.models import Message, Ticket, TicketEvent

RELATED = ("organization", "product", "team", "requester", "owner", "assignee")


@dataclass(frozen=True)
class MessageFacts:
    """The message an event is about, as far as conditions read it."""

    id: int
    body: str
    kind: str
    author_role: str | None  # None: written by the desk itself


class TicketFacts:
    """A ticket as rules see it at ``now``; ``message`` is the triggering message
    (for "message added" and "ticket created") or the latest one (preview)."""

    def __init__(
        self,
        ticket: Ticket,
        *,
        now: datetime,
        message: MessageFacts | None = None,
        event: TicketEvent | None = None,
    ) -> None:
        self.ticket = ticket
        self.now = now
        self.message = message
        self.event = event
        # The rule acting right now ({"id", "name"}), set by the engine for actions.
        self.rule: dict[str, Any] | None = None
        self.firing_id: int | None = None
        # What conditions read, by condition name (see engine._make_check).
        self.read_cache: dict[str, Any] = {}

    def forget(self) -> None:
        """Drop what was read, after an action changed the ticket."""
        self.read_cache.clear()
        self.__dict__.pop("tags", None)
        getattr(self.ticket, "_prefetched_objects_cache", {}).pop("tags", None)

    @cached_property
    def tags(self) -> frozenset[str]:
        prefetched = getattr(self.ticket, "_prefetched_objects_cache", {})
        if "tags" in prefetched:
            return frozenset(t.name for t in prefetched["tags"])
        return frozenset(self.ticket.tags.values_list("name", flat=True))

    @cached_property
    def text(self) -> str:
        """Subject and message text, lower case, for "text contains"."""
        body = self.message.body if self.message else ""
        return f"{self.ticket.subject}\n{body}".lower()

    @cached_property
    def status_changed_at(self) -> datetime:
        """When the ticket took its current status (its creation if never changed)."""
        annotated = getattr(self.ticket, "rules_status_changed_at", None)
        if annotated is not None:
            return annotated  # type: ignore[no-any-return]
        last = (
            TicketEvent.objects.filter(
                ticket_id=self.ticket.pk, kind=TicketEvent.Kind.STATUS_CHANGED
            )
            .order_by("-created_at", "-id")
            .values_list("created_at", flat=True)
            .first()
        )
        return last or self.ticket.created_at

    @cached_property
    def last_desk_reply_at(self) -> datetime | None:
        if hasattr(self.ticket, "rules_last_desk_reply_at"):
            return self.ticket.rules_last_desk_reply_at  # type: ignore[no-any-return]
        return (
            desk_replies(self.ticket.pk)
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )

    @property
    def hours_in_status(self) -> float:
        return (self.now - self.status_changed_at).total_seconds() / 3600

    @property
    def hours_since_created(self) -> float:
        return (self.now - self.ticket.created_at).total_seconds() / 3600

    @property
    def hours_waiting(self) -> float | None:
        """Hours the customer has waited for the desk's reply, None if not waiting."""
        asked = self.ticket.last_customer_message_at
        if asked is None or not self.ticket.is_unresolved:
            return None
        answered = self.last_desk_reply_at
        if answered is not None and answered >= asked:
            return None
        return (self.now - asked).total_seconds() / 3600

    @property
    def event_data(self) -> dict[str, Any]:
        return self.event.data if self.event is not None else {}


def desk_replies(ticket_id: Any) -> QuerySet[Message]:
    """Public replies written by desk people (not customers, not the desk itself)."""
    return (
        Message.objects.filter(ticket_id=ticket_id, kind=Message.Kind.PUBLIC)
        .exclude(author__isnull=True)
        .exclude(author__role=User.Role.CUSTOMER)
    )


def with_time_facts(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """Add what the time conditions read, for many tickets in one query."""
    last_status = (
        TicketEvent.objects.filter(
            ticket_id=OuterRef("pk"), kind=TicketEvent.Kind.STATUS_CHANGED
        )
        .order_by("-created_at", "-id")
        .values("created_at")[:1]
    )
    last_reply = (
        desk_replies(OuterRef("pk")).order_by("-created_at").values("created_at")[:1]
    )
    return tickets.annotate(
        rules_status_changed_at=Coalesce(
            Subquery(last_status, output_field=DateTimeField()), F("created_at")
        ),
        rules_last_desk_reply_at=Subquery(last_reply, output_field=DateTimeField()),
    )


@functools.cache
def _sql(queryset_sql: str) -> str:
    """The SQL of one of the queries below, compiled once per process: building
    a query costs several times what SQLite takes to answer it."""
    querysets = {
        "ticket": Ticket.objects.filter(pk=0).order_by(),
        "message": Message.objects.filter(pk=0).order_by().values_list(*MESSAGE_FIELDS),
    }
    return str(querysets[queryset_sql].query.sql_with_params()[0])


MESSAGE_FIELDS = ("id", "body", "kind", "author__role")


def load_message(message_id: int) -> MessageFacts | None:
    with connection.cursor() as cursor:
        cursor.execute(_sql("message"), [message_id])
        row = cursor.fetchone()
    return MessageFacts(*row) if row else None


def load_facts(
    ticket_id: int,
    *,
    now: datetime,
    message_id: int | None = None,
    event: TicketEvent | None = None,
    related: Iterable[str] = RELATED,
) -> TicketFacts | None:
    """The ticket with the relations conditions will read (``related``; others
    load when first used), or None if it is gone."""
    related = tuple(related)
    if related:
        ticket = Ticket.objects.select_related(*related).filter(pk=ticket_id).first()
    else:
        ticket = next(iter(Ticket.objects.raw(_sql("ticket"), [ticket_id])), None)
    if ticket is None:
        return None
    message = load_message(message_id) if message_id is not None else None
    return TicketFacts(ticket, now=now, message=message, event=event)


def latest_message(ticket: Ticket) -> MessageFacts | None:
    row = (
        Message.objects.filter(ticket=ticket)
        .filter(~Q(body=""))
        .order_by("-created_at", "-id")
        .values_list(*MESSAGE_FIELDS)
        .first()
    )
    return MessageFacts(*row) if row else None
