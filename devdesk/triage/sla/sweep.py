"""The periodic SLA pass: warn about clocks near their due time and record breaches.

Set-based, so it costs the same few statements with a hundred open tickets or a
million: for each target one ``UPDATE … RETURNING`` marks every clock that is due
(and not paused, met or already marked) and hands back the rows it marked; their
events and breach rows are then written with multi-row inserts. The ``WHERE`` of
each ``UPDATE`` is what makes the pass exactly-once: a clock marked breached or
warned no longer matches, so a second pass (or a second worker at the same time:
PostgreSQL re-checks the condition on a row another transaction just changed)
finds nothing to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from devdesk.tickets.events import record_event_batch
from devdesk.tickets.models import TicketEvent
from devdesk.triage.models import SlaBreach, SlaPolicy, SlaTarget, TicketSla

BATCH_SIZE = 2000


@dataclass(frozen=True)
class SlaPassResult:
    warned: int
    breached: int


def _as_datetime(value: Any) -> datetime:
    # PostgreSQL answers datetimes; SQLite the text Django stored (UTC, no offset).
    if isinstance(value, datetime):
        moment = value
    else:
        parsed = parse_datetime(str(value))
        if parsed is None:
            raise ValueError(f"not a datetime: {value!r}")
        moment = parsed
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _mark(
    target: str, column: str, moment_column: str, now: datetime
) -> list[tuple[int, int, datetime]]:
    """Set ``<target>_<column>`` to ``now`` on every running, unpaused clock whose
    ``<target>_<moment_column>`` has come; returns (ticket id, policy id, due time)."""
    quote = connection.ops.quote_name
    table = quote(TicketSla._meta.db_table)
    col = {
        name: quote(f"{target}_{name}")
        for name in ("due_at", "warn_at", "warned_at", "breached_at", "met_at")
    }
    extra = f" AND {col['warned_at']} IS NULL" if column == "warned_at" else ""
    # Only column and table names from the model are formatted in; values are
    # parameters.
    sql = (
        f"UPDATE {table} SET {col[column]} = %s "  # noqa: S608
        f"WHERE {quote('paused_at')} IS NULL AND {col['met_at']} IS NULL "
        f"AND {col['breached_at']} IS NULL AND {col[moment_column]} <= %s{extra} "
        f"RETURNING {quote('ticket_id')}, {quote('policy_id')}, {col['due_at']}"
    )
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(sql, [stamp, stamp])
        rows = cursor.fetchall()
    return [(int(t), int(p), _as_datetime(d)) for t, p, d in rows]


def run_sla_pass(*, now: datetime | None = None) -> SlaPassResult:
    """Record a breach for every clock past its due time and a warning for every one
    past its warning time, each exactly once; safe to run twice or concurrently.

    1. Per target, mark the breached clocks (``UPDATE … RETURNING``).
    2. Per target, mark the clocks to warn about that are not breached.
    3. Write an ``sla_breached`` / ``sla_warning`` event per mark (subscribers run
       after commit) and a :class:`SlaBreach` row per breach, in batches.
    All in one transaction: a failure leaves nothing marked.
    """
    now = now or timezone.now()
    names = dict(SlaPolicy.objects.values_list("pk", "name"))
    events: list[TicketEvent] = []
    breaches: list[SlaBreach] = []
    warned = 0
    with transaction.atomic():
        for target in SlaTarget.values:
            for ticket_id, policy_id, due in _mark(
                target, "breached_at", "due_at", now
            ):
                breaches.append(
                    SlaBreach(
                        ticket_id=ticket_id,
                        policy_id=policy_id,
                        target=target,
                        due_at=due,
                        breached_at=now,
                    )
                )
                events.append(
                    _event(
                        TicketEvent.Kind.SLA_BREACHED,
                        ticket_id,
                        target,
                        policy_id,
                        names,
                        due,
                        now,
                    )
                )
        for target in SlaTarget.values:
            for ticket_id, policy_id, due in _mark(target, "warned_at", "warn_at", now):
                warned += 1
                events.append(
                    _event(
                        TicketEvent.Kind.SLA_WARNING,
                        ticket_id,
                        target,
                        policy_id,
                        names,
                        due,
                        now,
                    )
                )
        SlaBreach.objects.bulk_create(breaches, batch_size=BATCH_SIZE)
        record_event_batch(events, batch_size=BATCH_SIZE)
    return SlaPassResult(warned=warned, breached=len(breaches))


def _event(
    kind: str,
    ticket_id: int,
    target: str,
    policy_id: int,
    names: dict[int, str],
    due: datetime,
    now: datetime,
) -> TicketEvent:
    return TicketEvent(
        ticket_id=ticket_id,
        kind=kind,
        actor=None,
        created_at=now,
        data={
            "target": target,
            "policy": {"id": policy_id, "name": names.get(policy_id, "?")},
            "due_at": due.isoformat(),
        },
    )
