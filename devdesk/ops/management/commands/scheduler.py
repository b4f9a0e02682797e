"""``devdesk scheduler``: queue the periodic tasks (notification retries, pruning) at
their intervals for the workers to run. Run exactly one, on one host."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from devdesk.ops import schedule


class Command(BaseCommand):
    help = (
        "Queue periodic tasks for `devdesk worker`: notifications that did not go out "
        "(every minute), stale 'who is viewing' rows (hourly), old database task "
        "results (daily). Run one scheduler for the whole installation. Stops on SIGTERM."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="Queue every periodic task once and exit (for cron or a systemd timer).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            try:
                queued = schedule.enqueue_all()
            except Exception as exc:
                raise CommandError(
                    f"Could not queue the periodic tasks: {exc}"
                ) from exc
            self.stdout.write("Queued " + ", ".join(queued) + ".")
            return
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        lines = [f"  {p.name}: every {p.every}" for p in schedule.SCHEDULE]
        self.stdout.write("Scheduler started; queues:\n" + "\n".join(lines))
        self.stdout.flush()
        schedule.run(stop)
        self.stdout.write("Scheduler stopped.")
