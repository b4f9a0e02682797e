"""Writers for the append-only ticket event log, and the hook other apps subscribe to.

Other apps (triage, insights, notifications) call :func:`subscribe` at start-up; their
handlers run after the transaction that wrote the event commits, so they never see a
change that was rolled back.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import transaction

from devdesk.accounts.models import User
from devdesk.lib.tasks import enqueue_with_transaction
from devdesk.tickets.models import Ticket, TicketEvent

logger = logging.getLogger(__name__)

Handler = Callable[[TicketEvent], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)
ANY = "*"
# Data merged into every event recorded inside :func:`caused_by` (e.g. the rule whose
# action made the change), so the history names the cause and subscribers can tell.
_cause: ContextVar[dict[str, Any] | None] = ContextVar("event_cause", default=None)


@contextmanager
def caused_by(**data: Any) -> Iterator[None]:
    """Add ``data`` (say ``rule={"id": 3, "name": "…"}``) to every event recorded in
    this block, whichever service records it."""
    token = _cause.set({**(_cause.get() or {}), **data})
    try:
        yield
    finally:
        _cause.reset(token)


def subscribe(kind: str, handler: Handler) -> None:
    """Call ``handler(event)`` after commit for every event of ``kind`` (or ``"*"``)."""
    if handler not in _handlers[kind]:
        _handlers[kind].append(handler)


def record_event(
    ticket: Ticket, kind: str, *, actor: User | None, **data: Any
) -> TicketEvent:
    """Append an event to the ticket's history and schedule its subscribers."""
    if cause := _cause.get():
        data = {**cause, **data}
    event = TicketEvent.objects.create(ticket=ticket, kind=kind, actor=actor, data=data)
    _schedule(event)
    return event


def record_events(ticket: Ticket, events: Sequence[TicketEvent]) -> list[TicketEvent]:
    """Append several events (unsaved, in order) to the ticket's history in one
    statement and schedule their subscribers, as :func:`record_event` does for one."""
    cause = _cause.get()
    for event in events:
        event.ticket = ticket
        if cause:
            event.data = {**cause, **(event.data or {})}
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


# Set in a process that must not wait for the subscribers (the mail processor,
# which has to keep up with a mail server): its events' subscribers run in a
# background task on the workers instead, after the same commit.
_on_workers: ContextVar[bool] = ContextVar(
    "event_subscribers_on_workers", default=False
)


@contextmanager
def subscribers_on_workers() -> Iterator[None]:
    """Within this block, events' subscribers are queued for the workers
    (:func:`devdesk.tickets.tasks.run_event_subscribers`) instead of run here."""
    token = _on_workers.set(True)
    try:
        yield
    finally:
        _on_workers.reset(token)


def _subscribers(event: TicketEvent) -> tuple[Handler, ...]:
    return (*_handlers.get(event.kind, ()), *_handlers.get(ANY, ()))


def _schedule(event: TicketEvent) -> None:
    if _on_workers.get():
        if _subscribers(event):
            from devdesk.tickets.tasks import run_event_subscribers

            # In the event's own transaction on the database queue: no commit more.
            enqueue_with_transaction(lambda: run_event_subscribers.enqueue(event.pk))
        return
    for handler in _subscribers(event):
        transaction.on_commit(lambda h=handler: _dispatch(h, event))  # type: ignore[misc]


def run_subscribers(event: TicketEvent) -> None:
    """Run the event's subscribers now (what the workers' task does)."""
    for handler in _subscribers(event):
        _dispatch(handler, event)


def _dispatch(handler: Handler, event: TicketEvent) -> None:
    # A subscriber's failure must not turn a committed change into an error page.
    try:
        handler(event)
    except Exception:
        logger.exception("event handler %r failed for event %s", handler, event.pk)
