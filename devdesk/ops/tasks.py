"""Upkeep tasks that belong to no domain app, queued by ``devdesk scheduler``."""

from __future__ import annotations

from django.core.management import call_command
from django_tasks import task

# Finished database task results are kept this long for the admin, then deleted.
TASK_RESULTS_KEPT_DAYS = 14


@task()
def prune_task_results() -> None:
    """Delete database-queue task results finished more than two weeks ago.

    Only meaningful with the database queue (RQ expires its own results); the
    scheduler queues it only then.
    """
    call_command(
        "prune_db_task_results", min_age_days=TASK_RESULTS_KEPT_DAYS, verbosity=0
    )
