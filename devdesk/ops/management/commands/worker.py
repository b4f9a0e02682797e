"""``devdesk worker``: run background tasks with the worker that fits ``TASKS_BACKEND``:
django-tasks-db's ``db_worker`` for the database queue, an RQ worker for Redis."""

from __future__ import annotations

from argparse import BooleanOptionalAction
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tasks import task_backends
from django_tasks_db.backend import DatabaseBackend

# django-tasks-rq runs each task through its own RQ job class.
RQ_JOB_CLASS = "django_tasks_rq.Job"


class Command(BaseCommand):
    help = (
        "Run background tasks (notification e-mail, the scheduler's periodic tasks): "
        "from the database queue, or from Redis with an RQ worker when "
        "TASKS_BACKEND is django_tasks_rq.RQBackend. Stops after the task in hand on "
        "SIGTERM."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reload",
            action=BooleanOptionalAction,
            default=None,
            help="Database queue only: restart on code changes (default: DEBUG).",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="Database queue only: seconds between looks at an empty queue "
            "(default 1). RQ workers wait on Redis instead.",
        )
        parser.add_argument(
            "--burst",
            action="store_true",
            help="Run the tasks queued now, then exit.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        backend = task_backends["default"]
        if isinstance(backend, DatabaseBackend):
            if options["interval"] < 0:
                raise CommandError("--interval must be zero or more seconds.")
            reload = options["reload"]
            call_command(
                "db_worker",
                reload=settings.DEBUG if reload is None else reload,
                interval=options["interval"],
                batch=options["burst"],
                verbosity=options["verbosity"],
            )
            return
        from django_tasks_rq import RQBackend

        if isinstance(backend, RQBackend):
            # --with-scheduler moves tasks enqueued with run_after onto the queue when
            # they are due (one worker at a time holds RQ's scheduler lock).
            call_command(
                "rqworker",
                *sorted(backend.queues),
                job_class=RQ_JOB_CLASS,
                with_scheduler=True,
                burst=options["burst"],
                verbosity=options["verbosity"],
            )
            return
        raise CommandError(
            f"TASKS_BACKEND {settings.TASKS['default']['BACKEND']} runs tasks without a "
            "worker; `devdesk worker` serves django_tasks_db.DatabaseBackend and "
            "django_tasks_rq.RQBackend."
        )
