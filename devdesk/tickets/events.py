"""Writers for the append-only ticket event log, and the hook other apps subscribe to.

Other apps (triage, insights, notifications) call :func:`subscribe` at start-up; their
handlers run after the transaction that wrote the event commits, so they never see a
change that was rolled back.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from django.db import transaction

from devdesk.accounts.models import User
from devdesk.tickets.models import Ticket, TicketEvent

logger = logging.getLogger(__name__)

Handler = Callable[[TicketEvent], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)
ANY = "*"


def subscribe(kind: str, handler: Handler) -> None:
    """Call ``handler(event)`` after commit for every event of ``kind`` (or ``"*"``)."""
    if handler not in _handlers[kind]:
        _handlers[kind].append(handler)


def record_event(
    ticket: Ticket, kind: str, *, actor: User | None, **data: Any
) -> TicketEvent:
    """Append an event to the ticket's history and schedule its subscribers."""
    event = TicketEvent.objects.create(ticket=ticket, kind=kind, actor=actor, data=data)
    _schedule(event)
    return event


def record_events(ticket: Ticket, events: Sequence[TicketEvent]) -> list[TicketEvent]:
    """Append several events (unsaved, in order) to the ticket's history in one
    statement and schedule their subscribers, as :func:`record_event` does for one."""
    for event in events:
        event.ticket = ticket
    saved = TicketEvent.objects.bulk_create(events)
    for event in saved:
        _schedule(event)
    return saved


def record_event_batch(
    events: Sequence[TicketEvent], *, batch_size: int = 2000
) -> list[TicketEvent]:
    """Append events (unsaved, each naming its ticket) to the histories of many
    tickets in multi-row inserts and schedule their subscribers: for periodic
    passes that change thousands of tickets at once (the SLA pass)."""
    saved = TicketEvent.objects.bulk_create(events, batch_size=batch_size)
    for event in saved:
        _schedule(event)
    return saved


def _schedule(event: TicketEvent) -> None:
    for handler in (*_handlers.get(event.kind, ()), *_handlers.get(ANY, ())):
        transaction.on_commit(lambda h=handler: _dispatch(h, event))  # type: ignore[misc]


def _dispatch(handler: Handler, event: TicketEvent) -> None:
    # A subscriber's failure must not turn a committed change into an error page.
    try:
        handler(event)
    except Exception:
        logger.exception("event handler %r failed for event %s", handler, event.pk)
