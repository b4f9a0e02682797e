"""Periodic tasks and the loop that queues them, for ``devdesk scheduler``.

The scheduler only enqueues; workers run the tasks, through whichever task backend is
configured (the database queue or RQ). Every periodic task is safe to run twice, so a
restart (which queues everything at once) or a second scheduler by mistake costs
some work, never a wrong result.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django_tasks.base import Task

from devdesk.intake.mail.poller import pollable_mailboxes
from devdesk.intake.tasks import poll_mailboxes, process_pending_mail
from devdesk.lib.tasks import uses_database_queue
from devdesk.ops.tasks import prune_task_results
from devdesk.tickets.tasks import prune_ticket_presence, requeue_unsent_notifications
from devdesk.triage.escalation.tasks import retry_due_webhooks
from devdesk.triage.sla.tasks import sla_pass
from devdesk.triage.tasks import mail_waiting_digests
from devdesk.triage.tasks_cooldown import release_expired_cooldowns
from devdesk.triage.tasks_rules import run_time_based_rules

logger = logging.getLogger(__name__)

# After a failed enqueue (the queue's Redis or database unreachable) try again this soon.
RETRY_SECONDS = 30.0
# Wake at least this often, so a stop request is never kept waiting long.
MAX_SLEEP_SECONDS = 60.0


@dataclass(frozen=True)
class Periodic:
    task: Task[[], Any]
    every: timedelta
    # False: skipped (e.g. pruning database task results while tasks go to Redis).
    applies: Callable[[], bool] = lambda: True

    @property
    def name(self) -> str:
        return self.task.name


SCHEDULE: tuple[Periodic, ...] = (
    Periodic(requeue_unsent_notifications, timedelta(minutes=1)),
    Periodic(process_pending_mail, timedelta(minutes=1)),
    Periodic(retry_due_webhooks, timedelta(minutes=1)),
    Periodic(
        poll_mailboxes,
        timedelta(seconds=settings.MAIL_POLL_SECONDS),
        applies=lambda: pollable_mailboxes().exists(),
    ),
    Periodic(sla_pass, timedelta(seconds=settings.SLA_PASS_SECONDS)),
    Periodic(prune_ticket_presence, timedelta(hours=1)),
    Periodic(release_expired_cooldowns, timedelta(minutes=1)),
    Periodic(run_time_based_rules, timedelta(minutes=5)),
    # Hourly, so a restart or a down hour never skips a day; one e-mail a day each.
    Periodic(mail_waiting_digests, timedelta(hours=1)),
    Periodic(prune_task_results, timedelta(days=1), applies=uses_database_queue),
)


def enqueue_all(schedule: Sequence[Periodic] = SCHEDULE) -> list[str]:
    """Queue every periodic task that applies, once; returns their names.

    Raises what the task backend raises when it cannot be reached.
    """
    queued = []
    for periodic in schedule:
        if periodic.applies():
            periodic.task.enqueue()
            queued.append(periodic.name)
    return queued


def run(
    stop: threading.Event,
    schedule: Sequence[Periodic] = SCHEDULE,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Queue each periodic task at start and then every ``every``, until ``stop`` is set.

    1. Queue every task that is due; a task whose enqueue fails is retried after
       ``RETRY_SECONDS`` and the others go on.
    2. Sleep until the next one is due (at most ``MAX_SLEEP_SECONDS``), or until stopped.
    """
    due = dict.fromkeys(range(len(schedule)), clock())
    while not stop.is_set():
        now = clock()
        for index, periodic in enumerate(schedule):
            if due[index] > now:
                continue
            try:
                if periodic.applies():
                    periodic.task.enqueue()
                    logger.info("queued %s", periodic.name)
                due[index] = now + periodic.every.total_seconds()
            except Exception:
                logger.exception("could not queue %s; trying again soon", periodic.name)
                due[index] = now + RETRY_SECONDS
        stop.wait(min(MAX_SLEEP_SECONDS, max(0.0, min(due.values()) - clock())))
