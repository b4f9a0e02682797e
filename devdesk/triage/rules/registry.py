"""The kinds of condition and action a rule may use, each with its own validation.

A rule stores plain JSON: ``{"type": "priority", "op": "gte", "value": 3}`` for a
condition, ``{"type": "add_tag", "value": ["billing"]}`` for an action. The engine
looks every ``type`` up here, so a new kind is one registration, made when its module
is imported (e.g. from its app's ``AppConfig.ready``).

Registering a condition (a few lines)::

    from devdesk.triage.rules.registry import ConditionType, number, register_condition

    register_condition(ConditionType(
        name="sentiment",
        label="Sentiment score",
        operators=("gte", "lte"),
        parse=number(-1.0, 1.0),
        read=lambda facts: sentiment_of(facts.ticket),   # the ticket's value
    ))

``read`` returns the ticket's value and the operator compares it with the rule's
value; a condition whose answer depends on its value in another way (say "in
business hours of calendar X") gives ``test=lambda facts, op, value: …`` instead.
``parse(op, raw)`` turns what an admin typed (a string from the form, any JSON from
the API) into the stored value, or raises :class:`RuleError` with a message that
says what is allowed. Conditions that measure time (``hours_in_status``) also give
``episode``: the key of the stretch of time being measured, so a time-based rule
fires once per ticket per episode.

Registering an action::

    from devdesk.triage.rules.registry import ActionType, register_action

    register_action(ActionType(
        name="hold_cool_down",
        label="Hold in cool-down",
        parse=number(1, 24 * 14),                    # hours
        plan=lambda facts, hours: f"hold in cool-down for {hours:g} h",
        apply=lambda facts, hours: hold_in_cool_down(facts.ticket, hours=hours),
        slots=lambda hours: [("cool_down", hours)],
    ))

``plan`` says what the action *would* change without writing anything (the rule
preview), or ``None`` when it would change nothing; ``apply`` does it, through the
services, and returns the same kind of text for the ``rule_applied`` event (raise
:class:`~devdesk.tickets.errors.TicketError` to skip it with a reason). Every event
recorded while it runs names the rule. ``slots`` name what the action sets: two
actions of one rule that set the same slot to different values contradict each
other and the rule is refused. ``causes`` lists the triggers the action's changes
would fire (shown as a note: changes made by rules never trigger rules). Both kinds
may give ``show(value)``, how a stored value reads in the desk form.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

from devdesk.tickets.errors import TicketError

if TYPE_CHECKING:
    from datetime import datetime

    from devdesk.tickets.models import Ticket
    from devdesk.triage.rules.facts import TicketFacts


class RuleError(TicketError):
    """A rule that cannot be saved or run as given; ``message`` says what to fix."""


# What each operator means; ``actual`` is the ticket's value (``read``), ``expected``
# the rule's value as compiled (lists become frozensets, phrases lower-case tuples).
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "is": lambda actual, expected: actual == expected,
    "is_not": lambda actual, expected: actual != expected,
    "in": lambda actual, expected: actual in expected,
    "not_in": lambda actual, expected: actual not in expected,
    "gte": lambda actual, expected: actual is not None and actual >= expected,
    "lte": lambda actual, expected: actual is not None and actual <= expected,
    "contains": lambda actual, expected: any(p in actual for p in expected),
    "not_contains": lambda actual, expected: not any(p in actual for p in expected),
    "has_any": lambda actual, expected: not actual.isdisjoint(expected),
    "has_all": lambda actual, expected: actual.issuperset(expected),
    "has_none": lambda actual, expected: actual.isdisjoint(expected),
    "is_set": lambda actual, expected: actual is not None,
    "is_not_set": lambda actual, expected: actual is None,
}
# Spellings accepted when typing a rule; the stored operator is the canonical name.
OPERATOR_ALIASES = {"=": "is", "==": "is", "!=": "is_not", ">=": "gte", "<=": "lte"}
LIST_OPERATORS = frozenset({"in", "not_in", "has_any", "has_all", "has_none"})
TEXT_OPERATORS = frozenset({"contains", "not_contains"})
VALUELESS_OPERATORS = frozenset({"is_set", "is_not_set"})
MAX_TEXT_CHARS = 500


Parse = Callable[[str, Any], Any]


@dataclass(frozen=True)
class ConditionType:
    """One kind of condition. See the module docstring for how to write one."""

    name: str
    label: str
    operators: tuple[str, ...]
    parse: Parse
    read: Callable[[TicketFacts], Any] | None = None
    test: Callable[[TicketFacts, str, Any], bool] | None = None
    # Time conditions: the key of the episode being measured (see RuleFiring).
    episode: Callable[[TicketFacts], str] | None = None
    # Optional SQL pre-filter for the periodic pass: (tickets, op, value, now).
    narrow: (
        Callable[[QuerySet[Ticket], str, Any, datetime], QuerySet[Ticket]] | None
    ) = None
    # The triggers it makes sense for; None: all.
    triggers: frozenset[str] | None = None
    help: str = ""
    # Ticket relations ``read`` follows, loaded with the ticket (select_related)
    # when an active rule uses this condition.
    related: tuple[str, ...] = ()
    # 0: reads a loaded value; 1: scans text; 2: queries the database. Within a
    # rule, cheaper conditions are checked first (the answer is the same).
    cost: int = 0
    # A stored value as typed in the desk form (e.g. priority 4 → "urgent").
    show: Callable[[Any], str] | None = None

    def compile_value(self, op: str, value: Any) -> Any:
        """The stored value in the shape the operator compares fastest."""
        if op in LIST_OPERATORS and isinstance(value, list):
            return frozenset(value)
        if op in TEXT_OPERATORS and isinstance(value, list):
            return tuple(str(v).lower() for v in value)
        return value

    def holds(self, facts: TicketFacts, op: str, compiled: Any) -> bool:
        if self.test is not None:
            return self.test(facts, op, compiled)
        assert self.read is not None  # noqa: S101 - register_condition checks it
        return OPERATORS[op](self.read(facts), compiled)


@dataclass(frozen=True)
class ActionType:
    """One kind of action. See the module docstring for how to write one."""

    name: str
    label: str
    parse: Callable[[Any], Any]
    plan: Callable[[TicketFacts, Any], str | None]
    apply: Callable[[TicketFacts, Any], str | None]
    slots: Callable[[Any], list[tuple[str, Any]]] = field(default=lambda value: [])
    causes: Callable[[Any], frozenset[str]] = field(default=lambda value: frozenset())
    help: str = ""
    # A stored value as typed in the desk form (e.g. 4 → "urgent").
    show: Callable[[Any], str] | None = None


CONDITIONS: dict[str, ConditionType] = {}
ACTIONS: dict[str, ActionType] = {}


def register_condition(condition: ConditionType) -> ConditionType:
    """Make ``condition`` usable in rules; registering a name again replaces it."""
    unknown = set(condition.operators) - set(OPERATORS)
    if unknown or (condition.read is None) == (condition.test is None):
        raise ValueError(
            f"condition {condition.name!r}: give read or test, and known operators"
        )
    CONDITIONS[condition.name] = condition
    return condition


def register_action(action: ActionType) -> ActionType:
    """Make ``action`` usable in rules; registering a name again replaces it."""
    ACTIONS[action.name] = action
    return action


# Value parsers: each returns ``parse(op, raw)`` for a ConditionType (actions call
# them with op="is"). They accept a string typed in the desk form (a list as
# comma-separated words) or the JSON an API client sent.


def as_list(raw: Any) -> list[Any]:
    if isinstance(raw, str):
        return [part.strip() for part in raw.split(",") if part.strip()]
    if isinstance(raw, (list, tuple)):
        return list(raw)
    return [raw]


def one_or_many(op: str, raw: Any, one: Callable[[Any], Any]) -> Any:
    if op in VALUELESS_OPERATORS:
        return None
    if op in LIST_OPERATORS:
        values = [one(v) for v in as_list(raw)]
        if not values:
            raise RuleError("invalid_value", "give at least one value")
        return list(dict.fromkeys(values))
    if isinstance(raw, (list, tuple)):
        raise RuleError("invalid_value", f"'{op}' takes one value, not a list")
    return one(raw)


def choice(choices: Callable[[], dict[str, Any]], what: str) -> Parse:
    """One of a fixed set; ``choices()`` maps every accepted spelling (lower case)
    to the stored value."""

    def parse(op: str, raw: Any) -> Any:
        known = choices()

        def one(value: Any) -> Any:
            key = str(value).strip().lower()
            if key not in known:
                shown = ", ".join(sorted({str(v) for v in known.values()}))
                raise RuleError(
                    "invalid_value", f"unknown {what} {value!r}; use one of {shown}"
                )
            return known[key]

        return one_or_many(op, raw, one)

    return parse


def existing(
    queryset: Callable[[], QuerySet[Any]], field_name: str, what: str, hint: str
) -> Parse:
    """A reference by slug, name or e-mail that must exist when the rule is saved
    (the engine looks it up again when acting, and skips it if it went away)."""

    def parse(op: str, raw: Any) -> Any:
        def one(value: Any) -> Any:
            key = str(value).strip()
            if field_name == "email":
                key = key.lower()
            if not key or not queryset().filter(**{field_name: key}).exists():
                raise RuleError(
                    "invalid_value", f"there is no {what} {value!r} ({hint})"
                )
            return key

        return one_or_many(op, raw, one)

    return parse


def number(low: float, high: float) -> Parse:
    """A number between ``low`` and ``high`` (for hours, scores, counts)."""

    def parse(op: str, raw: Any) -> Any:
        if isinstance(raw, bool):
            raise RuleError("invalid_value", "give a number")
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise RuleError("invalid_value", f"{raw!r} is not a number") from None
        if not low <= value <= high:
            raise RuleError(
                "invalid_value", f"give a number from {low:g} to {high:g}, not {raw}"
            )
        return int(value) if value.is_integer() else value

    return parse


def phrases(op: str, raw: Any) -> list[str]:
    """Words or phrases to look for (case-insensitive); any of them matches."""
    values = [str(v).strip().lower() for v in as_list(raw) if str(v).strip()]
    if not values:
        raise RuleError("invalid_value", "give a word or phrase to look for")
    if any(len(v) > MAX_TEXT_CHARS for v in values):
        raise RuleError(
            "invalid_value", f"phrases are at most {MAX_TEXT_CHARS} characters"
        )
    return values


def describe(value: Any) -> str:
    """A stored value as it is typed in the desk form."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple, frozenset)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ": ".join(str(v) for v in value.values() if v not in (None, ""))
    return str(value)


def all_triggers(values: Iterable[frozenset[str]]) -> frozenset[str]:
    out: frozenset[str] = frozenset()
    for value in values:
        out |= value
    return out
