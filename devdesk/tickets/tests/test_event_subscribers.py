"""Event subscribers run after the commit, here or, when asked, on the workers."""

from __future__ import annotations

from collections import defaultdict

import pytest
from django.db import transaction
from django_tasks import default_task_backend

from devdesk.tickets import events
from devdesk.tickets.models import TicketEvent
from devdesk.tickets.tasks import run_event_subscribers
from devdesk.tickets.tests.factories import make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def seen(monkeypatch) -> list[TicketEvent]:  # type: ignore[no-untyped-def]
    """The events a subscriber to "created" saw (the only subscriber)."""
    seen: list[TicketEvent] = []
    handlers = defaultdict(list, {TicketEvent.Kind.CREATED: [seen.append]})
    monkeypatch.setattr(events, "_handlers", handlers)
    return seen


@pytest.fixture
def dummy_tasks(settings):  # type: ignore[no-untyped-def]
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}
    }
    default_task_backend.clear()  # type: ignore[attr-defined]
    return default_task_backend


def test_subscribers_run_after_the_commit(
    seen, acme_customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(acme_customer)
        assert seen == []

    assert [event.ticket_id for event in seen] == [ticket.pk]


def test_subscribers_asked_to_run_on_the_workers_are_a_task(
    seen, dummy_tasks, acme_customer, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        events.subscribers_on_workers(),
    ):
        ticket = make_ticket(acme_customer)

    assert seen == []
    created = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.CREATED)
    queued = [(r.task.name, r.args) for r in dummy_tasks.results]
    assert queued == [("run_event_subscribers", [created.pk])]
    # when: a worker runs the task
    assert run_event_subscribers.call(created.pk) is True
    assert seen == [created]


def test_on_the_database_queue_the_task_is_written_with_the_event(
    seen, settings, acme_customer
):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    with events.subscribers_on_workers(), transaction.atomic():
        ticket = make_ticket(acme_customer)
        # then: queued before the commit, in the same transaction (no commit more)
        queued = list(DBTaskResult.objects.values_list("args_kwargs", flat=True))

    created = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.CREATED)
    assert queued == [{"args": [created.pk], "kwargs": {}}]
    assert seen == []
