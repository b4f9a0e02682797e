"""Background work: ``devdesk worker`` picks the worker for the task backend,
``devdesk scheduler`` queues the periodic tasks, and those tasks lose nothing.

Notification tasks run with the tests' immediate backend unless a test says
otherwise; the scale-out test runs them on real RQ workers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from devdesk.ops import schedule
from devdesk.ops.management.commands import worker
from devdesk.tickets.models import Message, TicketPresence
from devdesk.tickets.tasks import (
    prune_ticket_presence,
    requeue_unsent_notifications,
    send_message_notification,
)
from devdesk.tickets.tests.factories import make_ticket, reply

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def unsent_reply(ticket, agent, *, age: timedelta) -> Message:
    """A public reply whose notification task never ran (on_commit does not fire in
    a test transaction), written ``age`` ago."""
    message = reply(ticket, agent, f"Reply written {age} ago.")
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - age)
    return message


# --- notification tasks ----------------------------------------------------------


@pytest.mark.django_db
def test_requeue_sends_notifications_whose_task_was_lost(acme_customer, agent):
    message = unsent_reply(make_ticket(acme_customer), agent, age=timedelta(minutes=6))

    assert requeue_unsent_notifications.call() == 1

    message.refresh_from_db()
    assert message.notified_at is not None
    assert [m.to for m in mail.outbox] == [[acme_customer.email]]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "age",
    [timedelta(seconds=30), timedelta(days=2)],
    ids=["its-task-may-still-be-queued", "older-than-a-day"],
)
def test_requeue_leaves_recent_and_old_messages_alone(acme_customer, agent, age):
    unsent_reply(make_ticket(acme_customer), agent, age=age)

    assert requeue_unsent_notifications.call() == 0
    assert mail.outbox == []


class RefusingBackend(LocmemBackend):
    def send_messages(self, messages: Any) -> int:
        raise ConnectionRefusedError("mail server down")


@pytest.mark.django_db
def test_a_failed_send_leaves_the_message_for_the_next_try(
    acme_customer, agent, settings
):
    message = unsent_reply(make_ticket(acme_customer), agent, age=timedelta(0))
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"

    with pytest.raises(ConnectionRefusedError):
        send_message_notification.call(message.pk)
    message.refresh_from_db()
    assert message.notified_at is None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send_message_notification.call(message.pk) == 1


class HeldBackend(LocmemBackend):
    """Sends only after ``release`` is set, and says when it has started."""

    sending: ClassVar[threading.Event] = threading.Event()
    release: ClassVar[threading.Event] = threading.Event()

    def send_messages(self, messages: Any) -> int:
        self.sending.set()
        self.release.wait(timeout=30)
        return super().send_messages(messages)


@pytest.mark.django_db(transaction=True)
def test_a_notification_running_twice_at_once_mails_once(
    acme_customer, agent, settings
):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite runs one writer at a time")
    # given: a first run is in the middle of sending
    message = reply(make_ticket(acme_customer), agent, "Fixed in 2.4.1.")
    Message.objects.filter(pk=message.pk).update(notified_at=None)  # sent at commit
    mail.outbox.clear()
    settings.EMAIL_BACKEND = f"{__name__}.HeldBackend"
    HeldBackend.sending.clear()
    HeldBackend.release.clear()
    first: list[int] = []

    def run_first() -> None:
        try:
            first.append(send_message_notification.call(message.pk))
        finally:
            connection.close()

    thread = threading.Thread(target=run_first)
    thread.start()
    try:
        assert HeldBackend.sending.wait(timeout=30)

        # when: a second run of the same task starts (a retry, a second worker)
        second = send_message_notification.call(message.pk)
    finally:
        HeldBackend.release.set()
        thread.join(timeout=30)

    # then: it skips the message at once, and the first run's mail is the only one
    assert second == 0
    assert first == [1]
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_pruning_presence_deletes_rows_not_seen_for_a_day(acme_customer, agent):
    fresh, stale = make_ticket(acme_customer), make_ticket(acme_customer)
    for ticket, seen_at in [
        (fresh, timezone.now() - timedelta(minutes=5)),
        (stale, timezone.now() - timedelta(days=1, minutes=1)),
    ]:
        TicketPresence.objects.create(
            ticket=ticket, user=agent, activity="viewing", seen_at=seen_at
        )

    assert prune_ticket_presence.call() == 1
    assert list(TicketPresence.objects.values_list("ticket", flat=True)) == [fresh.pk]


# --- devdesk worker ----------------------------------------------------------------


@pytest.fixture
def ran(monkeypatch):
    """What ``devdesk worker`` would have started, instead of starting it."""
    calls = []
    monkeypatch.setattr(
        worker, "call_command", lambda *args, **kw: calls.append((*args, kw))
    )
    return calls


def test_worker_runs_the_database_queue_worker(ran, settings):
    settings.TASKS = DATABASE_TASKS
    call_command("worker", "--no-reload", "--interval", "2")
    assert ran == [
        (
            "db_worker",
            {"reload": False, "interval": 2.0, "batch": False, "verbosity": 1},
        )
    ]


def test_worker_runs_an_rq_worker_with_the_django_tasks_job_class(ran, settings):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}
    }
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:6379/0"}}
    call_command("worker", "--burst")
    assert ran == [
        (
            "rqworker",
            "default",
            {
                "job_class": "django_tasks_rq.Job",
                "with_scheduler": True,
                "burst": True,
                "verbosity": 1,
            },
        )
    ]


def test_worker_refuses_a_backend_without_a_queue(ran):
    with pytest.raises(CommandError, match="ImmediateBackend runs tasks without"):
        call_command("worker")
    assert ran == []


# Transactional: the worker closes a connection that is not in autocommit mode.
@pytest.mark.django_db(transaction=True)
def test_worker_burst_runs_what_the_database_queue_holds(
    acme_customer, agent, settings
):
    settings.TASKS = DATABASE_TASKS
    ticket = make_ticket(acme_customer)
    mail.outbox.clear()
    reply(ticket, agent, "Fixed in 2.4.1.")
    assert mail.outbox == []  # queued, not sent

    call_command("worker", "--burst", verbosity=0)

    assert [m.to for m in mail.outbox] == [[acme_customer.email]]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_reply_mails_nobody(acme_customer, agent):
    # The tests' immediate backend runs a task as soon as it is queued: a task
    # queued before the commit would mail a reply that never existed.
    ticket = make_ticket(acme_customer)
    mail.outbox.clear()

    def reply_then_fail() -> None:
        with transaction.atomic():
            reply(ticket, agent, "Never sent.")
            raise RuntimeError("the request failed after the reply was written")

    with pytest.raises(RuntimeError):
        reply_then_fail()

    assert mail.outbox == []


# --- devdesk scheduler -------------------------------------------------------------


class FakeTime:
    """A clock and a stop event in one: each wait moves the clock on, and the loop
    is stopped once the clock reaches ``until``."""

    def __init__(self, until: float):
        self.now, self.until = 0.0, until

    def clock(self) -> float:
        return self.now

    def is_set(self) -> bool:
        return self.now >= self.until

    def wait(self, timeout: float) -> bool:
        self.now += max(timeout, 0.001)
        return self.is_set()


class FakeTask:
    """Records when it was queued; the first ``fail_first`` enqueues raise."""

    def __init__(self, name: str, time: FakeTime, fail_first: int = 0):
        self.name, self.time, self.fail_first = name, time, fail_first
        self.queued_at: list[float] = []

    def enqueue(self) -> None:
        if self.fail_first:
            self.fail_first -= 1
            raise ConnectionError("queue unreachable")
        self.queued_at.append(self.time.now)


def test_scheduler_queues_at_start_then_every_interval_and_retries_failures():
    time = FakeTime(until=2 * 3600)
    every_20_minutes = FakeTask("every-20-minutes", time)
    hourly = FakeTask("hourly", time, fail_first=1)
    skipped = FakeTask("skipped", time)
    periodic = [
        schedule.Periodic(every_20_minutes, timedelta(minutes=20)),
        schedule.Periodic(hourly, timedelta(hours=1)),
        schedule.Periodic(skipped, timedelta(minutes=1), applies=lambda: False),
    ]

    schedule.run(time, periodic, clock=time.clock)  # type: ignore[arg-type]

    assert every_20_minutes.queued_at == [0, 1200, 2400, 3600, 4800, 6000]
    # the first enqueue failed: tried again after RETRY_SECONDS, then hourly
    assert hourly.queued_at == [30, 3630]
    assert skipped.queued_at == []


@pytest.mark.django_db
def test_scheduler_once_queues_each_periodic_task_for_the_backend(settings):
    settings.TASKS = DATABASE_TASKS
    from django_tasks_db.models import DBTaskResult

    call_command("scheduler", "--once")

    # (no mailbox polls IMAP here, so the poll is not queued)
    assert sorted(DBTaskResult.objects.values_list("task_path", flat=True)) == [
        "devdesk.intake.tasks.process_pending_mail",
        "devdesk.ops.tasks.prune_task_results",
        "devdesk.tickets.tasks.prune_ticket_presence",
        "devdesk.tickets.tasks.requeue_unsent_notifications",
        "devdesk.triage.escalation.tasks.retry_due_webhooks",
        "devdesk.triage.sla.tasks.sla_pass",
        "devdesk.triage.tasks.mail_waiting_digests",
        "devdesk.triage.tasks_cooldown.release_expired_cooldowns",
        "devdesk.triage.tasks_rules.run_time_based_rules",
    ]


@pytest.mark.django_db
def test_pruning_database_task_results_is_only_queued_for_the_database_queue(capsys):
    call_command("scheduler", "--once")  # the tests' immediate backend
    queued = capsys.readouterr().out
    assert "requeue_unsent_notifications" in queued
    assert "prune_task_results" not in queued
    assert "poll_mailboxes" not in queued


@pytest.mark.django_db
def test_mailboxes_are_polled_only_when_one_has_an_imap_server(capsys):
    from devdesk.intake.models import Mailbox

    Mailbox.objects.create(address="support@skyforge.test")
    call_command("scheduler", "--once")
    assert "poll_mailboxes" not in capsys.readouterr().out

    Mailbox.objects.create(address="imap@skyforge.test", imap_host="127.0.0.1")
    call_command("scheduler", "--once")
    assert "poll_mailboxes" in capsys.readouterr().out


def test_scheduler_stops_cleanly_on_sigterm(tmp_path):
    env = {
        **os.environ,
        "DEVDESK_DATA_DIR": str(tmp_path),
        "TASKS_BACKEND": "django_tasks.backends.dummy.DummyBackend",
    }
    env.pop("DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "devdesk.cli", "scheduler"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("Scheduler started")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert "Scheduler stopped." in process.stdout.read()
    finally:
        process.kill()
        process.wait(timeout=10)
