"""Rule evaluation per ticket event with 200 active rules, on SQLite.

``python -m benchmarks.harness.rules`` makes a fresh SQLite database in a temporary
directory (WAL, as devdesk runs it), migrates it, writes 200 active "message added"
rules (each: priority, channel, a phrase in the text, tags it must not have) and a
few hundred tickets, then adds customer messages one by one and times
:func:`devdesk.triage.rules.engine.evaluate_event` on each: the version check, the
ticket loaded once, 200 rules' conditions in Python and, for the one message in ten
that names a rule's phrase, that rule firing (its row, the tag it adds and the
``rule_applied`` event, committed). Adding the message itself is not timed.

Options: ``--rules 200 --events 2000 --match-every 10 --data-dir PATH --json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _setup(data_dir: Path) -> None:
    # devdesk's own SQLite set-up (WAL, synchronous=NORMAL) in a fresh folder, with
    # DEBUG off as in production (no query log kept in memory).
    os.environ.pop("DATABASE_URL", None)
    os.environ["DEVDESK_DATA_DIR"] = str(data_dir)
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "x" * 40)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "devdesk.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _write_desk(rules: int, tickets: int) -> tuple[list[Any], Any]:
    from devdesk.accounts.models import Organization, User
    from devdesk.tickets.services import NewTicket, open_ticket
    from devdesk.triage.rules.services import create_rule

    vendor = Organization.objects.create(name="Vendor", slug="vendor", kind="vendor")
    customers = Organization.objects.create(name="Acme", slug="acme", plan="enterprise")
    admin = User.objects.create_user(
        "admin@bench.test", role=User.Role.ADMIN, organization=vendor
    )
    customer = User.objects.create_user(
        "carol@acme.test", role=User.Role.CUSTOMER, organization=customers
    )
    channels = ["portal", "email", "api", "docs"]
    for i in range(rules):
        create_rule(
            acting_user=admin,
            name=f"Rule {i}",
            trigger="message_added",
            conditions=[
                {"type": "priority", "op": "in", "value": ["low", "normal", "high"]},
                {"type": "channel", "op": "in", "value": channels},
                {"type": "text", "op": "contains", "value": [f"keyword{i}x"]},
                {"type": "tag", "op": "has_none", "value": ["vip", "legal"]},
                {"type": "message_author_role", "op": "is", "value": "customer"},
            ],
            actions=[{"type": "add_tag", "value": [f"kw-{i}"]}],
        )
    made = [
        open_ticket(
            NewTicket(requester=customer, subject=f"Bench ticket {n}", body="Hello"),
            acting_user=customer,
        )
        for n in range(tickets)
    ]
    return made, customer


def measure(*, rules: int, events: int, match_every: int) -> dict[str, Any]:
    from devdesk.tickets import events as ticket_events
    from devdesk.tickets.services import add_message
    from devdesk.triage.rules.engine import evaluate_event, on_ticket_event

    # The subscriber would evaluate each message as it is added (after its
    # commit); here the evaluation is called, and timed, on its own.
    for handlers in ticket_events._handlers.values():
        if on_ticket_event in handlers:
            handlers.remove(on_ticket_event)
    tickets, customer = _write_desk(rules, tickets=min(events, 500))
    matched: list[float] = []
    unmatched: list[float] = []
    cpu: list[float] = []
    for n in range(events):
        ticket = tickets[n % len(tickets)]
        hit = n % match_every == 0
        body = f"Still failing, see keyword{n % rules}x" if hit else "Still failing."
        message = add_message(ticket, author=customer, body=body)
        event = ticket.events.filter(
            kind="message_added", data__message_id=message.pk
        ).get()
        started, cpu_started = time.perf_counter(), time.process_time()
        fired = evaluate_event(event)
        elapsed = time.perf_counter() - started
        cpu.append(time.process_time() - cpu_started)
        (matched if fired else unmatched).append(elapsed)
    every = matched + unmatched

    def ms(values: list[float], q: float | None = None) -> float:
        if not values:
            return 0.0
        if q is None:
            return round(statistics.fmean(values) * 1000, 3)
        return round(statistics.quantiles(values, n=100)[int(q) - 1] * 1000, 3)

    return {
        "rules": rules,
        "events": len(every),
        "fired": len(matched),
        "mean_ms": ms(every),
        "p50_ms": ms(every, 50),
        "p95_ms": ms(every, 95),
        "mean_ms_no_rule_fired": ms(unmatched),
        "mean_ms_one_rule_fired": ms(matched),
        # This process's CPU time: what a busy machine's other work does not inflate.
        "mean_cpu_ms": ms(cpu),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--match-every", type=int, default=10)
    parser.add_argument(
        "--data-dir", type=Path, help="folder for the SQLite file (default: temporary)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        _setup(args.data_dir or Path(tmp))
        result = measure(
            rules=args.rules, events=args.events, match_every=args.match_every
        )
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    sys.stdout.write(
        f"{result['rules']} active rules, {result['events']} message events "
        f"({result['fired']} fired a rule), SQLite:\n"
        f"  per event: mean {result['mean_ms']} ms, p50 {result['p50_ms']} ms, "
        f"p95 {result['p95_ms']} ms (CPU: mean {result['mean_cpu_ms']} ms)\n"
        f"  no rule fired: mean {result['mean_ms_no_rule_fired']} ms; "
        f"one rule fired: mean {result['mean_ms_one_rule_fired']} ms\n"
    )


if __name__ == "__main__":
    main()
