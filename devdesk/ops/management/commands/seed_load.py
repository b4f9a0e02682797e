"""``devdesk seed-load``: write a large, believable desk fast, for benchmarks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from devdesk.ops import seedload
from devdesk.ops.guards import refuse_on_real_installation


class Command(BaseCommand):
    help = (
        "Add N tickets with customers, agents, teams, products, conversations and "
        "history to the database through bulk inserts (for benchmarks). Texts come "
        "from real tickets (--source). Runs again add more."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--tickets",
            type=int,
            default=10_000,
            help="How many tickets (default 10000).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=seedload.DEFAULT_SEED,
            help="Seed: the same seed writes the same desk into a fresh database.",
        )
        parser.add_argument(
            "--source",
            type=Path,
            default=None,
            help="JSONL file of tickets ({id, title, body, project}); default: "
            "shared/data/apache-jira-dups-dev/tickets.jsonl next to the checkout.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=seedload.DEFAULT_BATCH_SIZE,
            help="Tickets per insert batch and transaction (default 2000).",
        )
        parser.add_argument(
            "--progress-every",
            type=int,
            default=10_000,
            help="Print progress every N tickets (default 10000).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DEBUG off. Every seeded person's password is public.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        refuse_on_real_installation(
            force=options["force"],
            why="Seeded people sign in with the public password "
            f"{seedload.LOAD_PASSWORD!r}",
        )
        tickets, batch_size = options["tickets"], options["batch_size"]
        if not 1 <= tickets <= 10_000_000:
            raise CommandError("--tickets must be between 1 and 10000000.")
        if not 1 <= batch_size <= 50_000:
            raise CommandError("--batch-size must be between 1 and 50000.")
        source = options["source"] or seedload.default_source()
        texts, note = seedload.load_texts_or_builtin(source)
        self.stdout.write(f"Texts: {note}")

        def progress(done: int, seconds: float) -> None:
            self.stdout.write(
                f"  {done:,} / {tickets:,} tickets, {seconds:.0f} s "
                f"({done / max(seconds, 1e-6):,.0f} tickets/s)"
            )

        summary = seedload.seed_load(
            tickets=tickets,
            seed=options["seed"],
            texts=texts,
            batch_size=batch_size,
            progress=progress,
            progress_every=max(1, options["progress_every"]),
        )
        spread = ", ".join(
            f"{n:,} {s.replace('_', ' ')}"
            for s, n in sorted(summary.statuses.items(), key=lambda kv: -kv[1])
        )
        self.stdout.write(
            f"{summary.organizations:,} organizations and {summary.people:,} people "
            f"(password {seedload.LOAD_PASSWORD!r}); statuses: {spread}."
        )
        self.stdout.write(
            f"Seeded {summary.tickets:,} tickets (#{summary.first_number}-"
            f"#{summary.last_number}), {summary.messages:,} messages, "
            f"{summary.events:,} events in {summary.seconds:.1f} s "
            f"({summary.tickets / max(summary.seconds, 1e-6):,.0f} tickets/s)."
        )
