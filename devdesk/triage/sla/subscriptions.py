"""The SLA clocks follow the ticket's events, after the change that wrote them commits."""

from __future__ import annotations

from devdesk.tickets import events
from devdesk.tickets.models import Message, TicketEvent
from devdesk.triage.models import SlaPolicy
from devdesk.triage.sla import clocks


def on_created(event: TicketEvent) -> None:
    # Most desks without SLAs pay one cheap query per new ticket, nothing more.
    if not SlaPolicy.objects.filter(is_active=True).exists():
        return
    clocks.start_sla(event.ticket, now=event.created_at)


def on_message_added(event: TicketEvent) -> None:
    clocks.record_message(
        event.ticket,
        author=event.actor,
        is_public=event.data.get("message_kind") == Message.Kind.PUBLIC,
        at=event.created_at,
    )


def on_status_changed(event: TicketEvent) -> None:
    clocks.record_status(
        event.ticket,
        old=str(event.data.get("old", "")),
        new=str(event.data.get("new", "")),
        at=event.created_at,
    )


def on_priority_changed(event: TicketEvent) -> None:
    clocks.rematch_policy(event.ticket, acting_user=event.actor, at=event.created_at)


def connect() -> None:
    """Subscribe the SLA clocks to ticket events (called once at start-up)."""
    kind = TicketEvent.Kind
    events.subscribe(kind.CREATED, on_created)
    events.subscribe(kind.MESSAGE_ADDED, on_message_added)
    events.subscribe(kind.STATUS_CHANGED, on_status_changed)
    events.subscribe(kind.PRIORITY_CHANGED, on_priority_changed)
