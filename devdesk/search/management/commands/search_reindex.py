"""``devdesk search-reindex``: rebuild the ticket search index in bulk."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DEFAULT_DB_ALIAS

from devdesk.search.services import reindex


class Command(BaseCommand):
    help = (
        "Rebuild the keyword index of every ticket from the tickets and their "
        "messages, in one transaction, and put back missing sync triggers. Run it "
        "after writing tickets around the application (a bulk load, a restore of "
        "the tickets tables); day-to-day changes are indexed as they are made."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help="Database alias (default: default).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = reindex(using=options["database"])
        if result.reinstalled_triggers:
            self.stdout.write(
                self.style.WARNING(
                    "Sync triggers were missing and are back: "
                    + ", ".join(result.reinstalled_triggers)
                )
            )
        self.stdout.write(
            f"Indexed {result.tickets:,} tickets in {result.seconds:.1f} s."
        )
