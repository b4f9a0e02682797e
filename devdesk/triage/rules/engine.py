"""Running rules: on ticket events, from the periodic pass, and as a dry-run preview.

Cheap by construction: the active rules are compiled once per process into plain
tuples of (condition type, operator, prepared value), and recompiled only when the
rule-set version (one row, changed by every rule save) moves, which costs one
indexed read per event. The ticket is loaded once; conditions are Python.

Loops are bounded by a marker, not a depth: every event recorded while a rule acts
carries ``data["rule"]`` (:func:`devdesk.tickets.events.caused_by`), and events
carrying it are never evaluated. So a rule's change cannot trigger any rule (itself
or another), whatever the rules say, and a rule fires at most once per triggering
event, which a unique :class:`RuleFiring` row per (rule, ticket, event) also
guarantees if an event is delivered twice.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from devdesk.tickets.errors import TicketError
from devdesk.tickets.events import caused_by, record_event
from devdesk.tickets.models import Ticket, TicketEvent
from devdesk.triage.models import Rule, RuleFiring, RuleSetVersion
from devdesk.triage.rules.facts import (
    RELATED,
    TicketFacts,
    latest_message,
    load_facts,
    with_time_facts,
)
from devdesk.triage.rules.registry import (
    ACTIONS,
    CONDITIONS,
    OPERATORS,
    ActionType,
    ConditionType,
)

logger = logging.getLogger(__name__)

EVENT_TRIGGERS: dict[str, str] = {
    TicketEvent.Kind.CREATED: Rule.Trigger.TICKET_CREATED,
    TicketEvent.Kind.MESSAGE_ADDED: Rule.Trigger.MESSAGE_ADDED,
    TicketEvent.Kind.STATUS_CHANGED: Rule.Trigger.STATUS_CHANGED,
}
VERSION_PK = 1


# One condition, ready to run: ``check(facts) -> bool``.
Check = Callable[[TicketFacts], bool]
_MISSING = object()


def _make_check(kind: ConditionType, op: str, value: Any) -> Check:
    """A condition as one closure. What ``read`` returns is kept per ticket in
    ``facts.read_cache``, so 200 rules asking for the priority read it once."""
    if kind.test is not None:
        test = kind.test
        return lambda facts: test(facts, op, value)
    read, compare, name = kind.read, OPERATORS[op], kind.name
    assert read is not None  # noqa: S101 - register_condition checks it
    if op in {"contains", "not_contains"} and len(value) == 1:
        phrase, wanted = value[0], op == "contains"

        def check_phrase(facts: TicketFacts) -> bool:
            actual = facts.read_cache.get(name, _MISSING)
            if actual is _MISSING:
                actual = facts.read_cache[name] = read(facts)
            return (phrase in actual) is wanted

        return check_phrase

    def check(facts: TicketFacts) -> bool:
        actual = facts.read_cache.get(name, _MISSING)
        if actual is _MISSING:
            actual = facts.read_cache[name] = read(facts)
        return compare(actual, value)

    return check


@dataclass(frozen=True)
class CompiledRule:
    id: int
    name: str
    trigger: str
    match_all: bool
    stop_processing: bool
    conditions: tuple[tuple[ConditionType, str, Any], ...]
    actions: tuple[tuple[ActionType, Any], ...]
    checks: tuple[Check, ...] = ()

    def matches(self, facts: TicketFacts) -> bool:
        if self.match_all:
            return all(check(facts) for check in self.checks)
        if not self.checks:
            return True
        return any(check(facts) for check in self.checks)

    def episode_key(self, facts: TicketFacts) -> str:
        keys = [kind.episode(facts) for kind, _, _ in self.conditions if kind.episode]
        return "|".join(sorted(set(keys)))[:200]

    @property
    def reference(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name}


def compile_rule(
    *,
    id: int,
    name: str,
    trigger: str,
    match: str,
    stop_processing: bool,
    conditions: Sequence[dict[str, Any]],
    actions: Sequence[dict[str, Any]],
) -> CompiledRule:
    """A stored (already checked) rule in the shape the engine runs."""
    compiled_conditions = []
    for c in conditions:
        kind = CONDITIONS[c["type"]]
        compiled_conditions.append(
            (kind, c["op"], kind.compile_value(c["op"], c.get("value")))
        )
    return CompiledRule(
        id=id,
        name=name,
        trigger=trigger,
        match_all=match == Rule.Match.ALL,
        stop_processing=stop_processing,
        conditions=tuple(compiled_conditions),
        actions=tuple((ACTIONS[a["type"]], a["value"]) for a in actions),
        checks=tuple(
            _make_check(*c)
            for c in sorted(compiled_conditions, key=lambda c: c[0].cost)
        ),
    )


def compile_saved(rule: Rule) -> CompiledRule:
    return compile_rule(
        id=rule.pk,
        name=rule.name,
        trigger=rule.trigger,
        match=rule.match,
        stop_processing=rule.stop_processing,
        conditions=rule.conditions,
        actions=rule.actions,
    )


@dataclass
class _Cache:
    version: int | None = None
    by_trigger: dict[str, list[CompiledRule]] = field(default_factory=dict)
    # Per trigger: the ticket relations its rules' conditions read.
    related: dict[str, tuple[str, ...]] = field(default_factory=dict)


_cache = _Cache()


def bump_version() -> None:
    """Tell every process its compiled rules are stale (call inside the change's
    transaction). A random value, not a counter: a counter rolled back with a
    test's transaction would come round to a value some process already cached."""
    RuleSetVersion.objects.update_or_create(
        pk=VERSION_PK, defaults={"value": secrets.randbits(62)}
    )


def _current_version() -> int | None:
    # Plain SQL: this runs on every ticket event, and building the ORM query
    # would cost more than running it.
    table = connection.ops.quote_name(RuleSetVersion._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT value FROM {table} WHERE id = %s", [VERSION_PK])  # noqa: S608 - a quoted table name
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def active_rules(trigger: str) -> list[CompiledRule]:
    """The active rules of ``trigger`` in order, compiled; one read when cached."""
    # No version row: no rule was ever saved (saving one writes it), so the empty
    # cache a process starts with is right.
    version = _current_version()
    if version != _cache.version:
        by_trigger: dict[str, list[CompiledRule]] = {}
        for rule in Rule.objects.filter(is_active=True).order_by(
            "trigger", "position", "id"
        ):
            try:
                compiled = compile_saved(rule)
            except KeyError as exc:  # a type whose module is not loaded here
                logger.error("rule %s uses unknown type %s; skipped", rule.pk, exc)
                continue
            by_trigger.setdefault(rule.trigger, []).append(compiled)
        _cache.by_trigger = by_trigger
        _cache.related = {
            t: tuple(
                sorted(
                    {
                        r
                        for rule in rules
                        for kind, _, _ in rule.conditions
                        for r in kind.related
                    }
                )
            )
            for t, rules in by_trigger.items()
        }
        _cache.version = version
    return _cache.by_trigger.get(trigger, [])


@dataclass(frozen=True)
class Firing:
    """What one rule did to one ticket."""

    rule: CompiledRule
    ticket_id: int
    changes: list[str]
    skipped: list[str]


def fire(rule: CompiledRule, facts: TicketFacts, episode_key: str) -> Firing | None:
    """Apply ``rule``'s actions to the ticket once for ``episode_key``; None if it
    already fired for it. One transaction: the firing row, every change (each
    event naming the rule) and the ``rule_applied`` event. An action a service
    refuses (a status the ticket cannot take) is skipped and the reason recorded."""
    ticket = facts.ticket
    changes: list[str] = []
    skipped: list[str] = []
    with transaction.atomic():
        try:
            with transaction.atomic():
                firing = RuleFiring.objects.create(
                    rule_id=rule.id,
                    ticket=ticket,
                    episode_key=episode_key,
                    fired_at=facts.now,
                )
        except IntegrityError:
            return None
        facts.rule, facts.firing_id = rule.reference, firing.pk
        with caused_by(rule=rule.reference):
            for kind, value in rule.actions:
                try:
                    with transaction.atomic():
                        text = kind.apply(facts, value)
                except TicketError as exc:
                    skipped.append(f"{kind.label}: {exc.message}")
                    continue
                finally:
                    facts.forget()
                if text:
                    changes.append(text)
            record_event(
                ticket,
                TicketEvent.Kind.RULE_APPLIED,
                actor=None,
                trigger=rule.trigger,
                episode=episode_key,
                changes=changes,
                skipped=skipped,
            )
        facts.rule, facts.firing_id = None, None
    return Firing(rule, ticket.pk, changes, skipped)


def run_rules(
    rules: Iterable[CompiledRule], facts: TicketFacts, *, episode_key: str | None
) -> list[Firing]:
    """Run ``rules`` in order on one ticket: each that matches fires once (a later
    rule sees what earlier ones changed); one with "stop further rules" ends it."""
    fired: list[Firing] = []
    for rule in rules:
        if not rule.matches(facts):
            continue
        result = fire(rule, facts, episode_key or rule.episode_key(facts))
        if result is None:
            continue
        fired.append(result)
        if rule.stop_processing:
            break
        # Later rules read the ticket as this one left it: the services changed
        # ``facts.ticket`` itself, and ``fire`` dropped what was read from it.
    return fired


def evaluate_event(event: TicketEvent, *, now: datetime | None = None) -> list[Firing]:
    """Run the active rules of the event's trigger on its ticket (after commit).

    Events caused by rules are skipped (the loop bound, see the module docstring),
    as are merged tickets: their conversation goes on in the ticket they joined."""
    trigger = EVENT_TRIGGERS.get(event.kind)
    if trigger is None or "rule" in (event.data or {}):
        return []
    rules = active_rules(trigger)
    if not rules:
        return []
    facts = load_facts(
        event.ticket_id,
        now=now or timezone.now(),
        message_id=(event.data or {}).get("message_id"),
        event=event,
        related=_cache.related.get(trigger, ()),
    )
    if facts is None or facts.ticket.merged_into_id:
        return []
    if trigger == Rule.Trigger.TICKET_CREATED and facts.message is None:
        facts.message = latest_message(facts.ticket)
    return run_rules(rules, facts, episode_key=f"event:{event.pk}")


def on_ticket_event(event: TicketEvent) -> None:
    """The ``tickets.events`` subscriber."""
    evaluate_event(event)


def time_candidates(rule: CompiledRule, now: datetime) -> QuerySet[Ticket]:
    """Tickets a time-based rule may apply to: not closed, not merged, narrowed in
    SQL by its conditions that can say so when all of them must hold."""
    tickets = with_time_facts(
        Ticket.objects.exclude(status=Ticket.Status.CLOSED).filter(
            merged_into__isnull=True
        )
    )
    if rule.match_all:
        for kind, op, value in rule.conditions:
            if kind.narrow is not None:
                tickets = kind.narrow(tickets, op, value, now)
    return tickets


def run_time_rules(*, now: datetime | None = None, batch: int = 500) -> int:
    """The periodic pass: every active time-based rule on every ticket it may apply
    to; returns how many times rules fired.

    Idempotent: a rule fires once per ticket per episode (``RuleFiring``), so a
    second run at the same moment fires nothing, and a pending ticket that was
    answered and left pending again starts a new episode.
    """
    now = now or timezone.now()
    count = 0
    for rule in active_rules(Rule.Trigger.TIME_BASED):
        fired_before = set(
            RuleFiring.objects.filter(rule_id=rule.id).values_list(
                "ticket_id", "episode_key"
            )
        )
        tickets = (
            time_candidates(rule, now)
            .select_related(*RELATED)
            .prefetch_related("tags")
            .order_by("pk")
        )
        for ticket in tickets.iterator(chunk_size=batch):
            facts = TicketFacts(ticket, now=now)
            if facts.message is None and _reads_message(rule):
                facts.message = latest_message(ticket)
            if not rule.matches(facts):
                continue
            key = rule.episode_key(facts)
            if (ticket.pk, key) in fired_before:
                continue
            if fire(rule, facts, key) is not None:
                count += 1
    return count


def _reads_message(rule: CompiledRule) -> bool:
    return any(kind.name == "text" for kind, _, _ in rule.conditions)


@dataclass(frozen=True)
class PreviewRow:
    ticket: Ticket
    matches: bool
    would: list[str]


def preview_rule(
    rule: CompiledRule, *, last: int, now: datetime | None = None
) -> list[PreviewRow]:
    """What ``rule`` would do to each of the ``last`` newest tickets, without
    doing it: conditions are read and actions only describe their change. It runs
    in a transaction that is rolled back, so even a faulty plan writes nothing
    and queues no mail."""
    now = now or timezone.now()
    rows: list[PreviewRow] = []
    with transaction.atomic():
        tickets = with_time_facts(
            Ticket.objects.select_related(*RELATED).prefetch_related("tags")
        ).order_by("-created_at", "-id")[:last]
        for ticket in tickets:
            facts = TicketFacts(ticket, now=now, message=latest_message(ticket))
            matches = rule.matches(facts)
            would: list[str] = []
            if matches:
                would = [
                    text
                    for kind, value in rule.actions
                    if (text := kind.plan(facts, value))
                ]
            rows.append(PreviewRow(ticket, matches, would))
        transaction.set_rollback(True)
    return rows
