"""Queueing background tasks at the right moment for the configured backend."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django_tasks import task_backends
from django_tasks_db.backend import DatabaseBackend


def uses_database_queue() -> bool:
    """Whether tasks go to the database queue (django-tasks-db), not to Redis."""
    return isinstance(task_backends["default"], DatabaseBackend)


def enqueue_with_transaction(enqueue: Callable[[], object]) -> None:
    """Queue a task that must run only if the current transaction commits.

    The database queue's row is written in that transaction itself: it commits
    with it or not at all, at no extra commit. Another queue (Redis) hears of it
    only once the transaction has committed, so a worker never looks for rows
    that are not there yet."""
    if uses_database_queue():
        with transaction.atomic():  # a savepoint: a failure here is the caller's
            enqueue()
    else:
        transaction.on_commit(enqueue)
