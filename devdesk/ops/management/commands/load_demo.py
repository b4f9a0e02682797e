"""``devdesk demo``: load the demo desk, or say it is there, and print how to use it."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from devdesk.ops import demo
from devdesk.ops.guards import refuse_on_real_installation


class Command(BaseCommand):
    help = (
        "Load the demo desk (Skyforge, its customers and a few hundred tickets) and "
        "print the URL, demo logins and API token. Does nothing when it is loaded already."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo data first, then load it again.",
        )
        parser.add_argument(
            "--tickets",
            type=int,
            default=demo.DEFAULT_TICKETS,
            help="How many tickets (20-5000).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=demo.DEFAULT_SEED,
            help="Seed for the random choices.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load even with DEBUG off. The demo's passwords and API token are public.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        refuse_on_real_installation(
            force=options["force"], why="The demo's passwords and API token are public"
        )
        if not 20 <= options["tickets"] <= 5000:
            raise CommandError("--tickets must be between 20 and 5000.")
        if options["reset"]:
            removed = demo.remove_demo()
            self.stdout.write(f"Removed the demo desk ({removed} tickets).")
        if demo.demo_exists():
            demo.ensure_demo_token()
            self.stdout.write(
                "The demo desk is loaded already (`devdesk demo --reset` reloads it)."
            )
        else:
            self.stdout.write("Loading the demo desk…")
            summary = demo.load_demo(seed=options["seed"], tickets=options["tickets"])
            spread = ", ".join(
                f"{n} {s.replace('_', ' ')}" for s, n in summary.statuses.items() if n
            )
            self.stdout.write(
                f"Loaded {summary.tickets} tickets with {summary.messages} messages "
                f"in {summary.seconds:.1f} s ({spread})."
            )
        port = os.environ.get("PORT", "").strip() or "8000"
        self.stdout.write(
            demo.welcome_text(port=port, token_revoked=demo.demo_token_revoked())
        )
