"""The periodic SLA pass over many open tickets, timed.

    python -m benchmarks.harness.sla --tickets 100000
    python -m benchmarks.harness.sla --tickets 100000 \
        --database-url postgres://postgres@127.0.0.1:5432/bench_sla

Makes a fresh database (SQLite in a temporary directory, or the empty PostgreSQL
database named; its tables are dropped and made again by ``migrate``), writes N open
tickets with SLA clocks by multi-row inserts (a tenth due a warning, a twentieth
past their due time, the rest on track), then times :func:`run_sla_pass` once, and
a second time to show that a pass with nothing new to do costs little and changes
nothing. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

BATCH = 5000


def _setup(database_url: str | None, data_dir: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "devdesk.settings")
    os.environ["DEVDESK_DATA_DIR"] = data_dir
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    if database_url:
        call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)


def _seed(count: int, now: datetime) -> None:
    from django.db import transaction

    from devdesk.accounts.models import Organization, User
    from devdesk.tickets.models import Ticket
    from devdesk.triage.models import BusinessCalendar, SlaPolicy, TicketSla

    org = Organization.objects.create(name="Bench", slug="bench", plan="enterprise")
    requester = User.objects.create_user("bench@bench.example", organization=org)
    calendar = BusinessCalendar.objects.create(
        name="Bench", time_zone="Europe/Berlin", holiday_country="DE", is_default=True
    )
    policy = SlaPolicy.objects.create(
        name="Bench",
        first_response_minutes=60,
        next_response_minutes=120,
        resolution_minutes=960,
        calendar=calendar,
    )
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        with transaction.atomic():
            tickets = Ticket.objects.bulk_create(
                Ticket(
                    number=1000 + start + i,
                    subject=f"Bench ticket {start + i}",
                    status=Ticket.Status.OPEN,
                    organization=org,
                    requester=requester,
                    created_at=now - timedelta(hours=1),
                    updated_at=now - timedelta(hours=1),
                )
                for i in range(size)
            )
            states = []
            for i, ticket in enumerate(tickets):
                n = start + i
                # 1 in 20 overdue, 1 in 10 within the warning lead, the rest on track.
                if n % 20 == 0:
                    due = now - timedelta(minutes=5)
                elif n % 10 == 1:
                    due = now + timedelta(minutes=10)
                else:
                    due = now + timedelta(hours=3)
                warn = due - timedelta(minutes=15)
                states.append(
                    TicketSla(
                        ticket=ticket,
                        policy=policy,
                        first_response_due_at=due,
                        first_response_warn_at=warn,
                        resolution_due_at=due + timedelta(hours=12),
                        resolution_warn_at=warn + timedelta(hours=12),
                        next_due_at=due,
                        next_warn_at=warn,
                        updated_at=now,
                    )
                )
            TicketSla.objects.bulk_create(states)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.harness.sla")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument(
        "--database-url",
        default=None,
        help="an empty PostgreSQL database to use instead of a fresh SQLite file",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="devdesk-sla-bench-") as data_dir:
        _setup(args.database_url, data_dir)
        from django.db import connection

        from devdesk.triage.sla import run_sla_pass

        now = datetime.now(UTC)
        started = time.perf_counter()
        _seed(args.tickets, now)
        seeded = time.perf_counter() - started
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        started = time.perf_counter()
        first = run_sla_pass(now=now)
        first_seconds = time.perf_counter() - started
        started = time.perf_counter()
        second = run_sla_pass(now=now)
        second_seconds = time.perf_counter() - started
        result: dict[str, Any] = {
            "database": connection.vendor,
            "open_tickets": args.tickets,
            "seed_seconds": round(seeded, 2),
            "pass_seconds": round(first_seconds, 3),
            "warned": first.warned,
            "breached": first.breached,
            "second_pass_seconds": round(second_seconds, 3),
            "second_pass_changes": second.warned + second.breached,
        }
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
