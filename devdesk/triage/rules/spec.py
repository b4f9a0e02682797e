"""Checking a rule before it is saved or previewed: every condition and action known
and valid for the trigger, no two actions contradicting each other, and a note when
the rule's own actions would cause its trigger."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from devdesk.triage.models import Rule
from devdesk.triage.rules.registry import (
    ACTIONS,
    CONDITIONS,
    OPERATOR_ALIASES,
    VALUELESS_OPERATORS,
    RuleError,
    describe,
)

MAX_CONDITIONS = 30
MAX_ACTIONS = 15
TRIGGER_LABELS = dict(Rule.Trigger.choices)


@dataclass
class CheckedRule:
    """A rule's parts as they will be stored, and notes for the person saving it."""

    trigger: str
    match: str
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)


def _item(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise RuleError("invalid_rule", f"{where}: give an object with a 'type'.")
    unknown = set(raw) - {"type", "op", "value"}
    if unknown:
        raise RuleError(
            "invalid_rule",
            f"{where}: unknown field {sorted(unknown)[0]!r}; use type, op, value.",
        )
    return raw


def check_condition(raw: Any, index: int, trigger: str) -> dict[str, Any]:
    where = f"conditions[{index}]"
    item = _item(raw, where)
    kind = CONDITIONS.get(str(item.get("type", "")))
    if kind is None:
        raise RuleError(
            "unknown_condition",
            f"{where}: unknown condition {item.get('type')!r}; use one of "
            f"{', '.join(sorted(CONDITIONS))}.",
        )
    op = str(item.get("op", "")).strip().lower()
    op = OPERATOR_ALIASES.get(op, op)
    if op not in kind.operators:
        raise RuleError(
            "invalid_operator",
            f"{where}: {kind.name} takes the operators "
            f"{', '.join(kind.operators)}, not {item.get('op')!r}.",
        )
    if kind.triggers is not None and trigger not in kind.triggers:
        allowed = ", ".join(TRIGGER_LABELS[t].lower() for t in sorted(kind.triggers))
        raise RuleError(
            "condition_not_for_trigger",
            f"{where}: {kind.label.lower()} only works in rules triggered by {allowed}.",
        )
    if op not in VALUELESS_OPERATORS and item.get("value") in (None, "", []):
        raise RuleError("invalid_value", f"{where}: {kind.name} {op} needs a value.")
    try:
        value = kind.parse(op, item.get("value"))
    except RuleError as exc:
        raise RuleError(exc.code, f"{where} ({kind.name}): {exc.message}.") from None
    return {"type": kind.name, "op": op, "value": value}


def check_action(raw: Any, index: int) -> dict[str, Any]:
    where = f"actions[{index}]"
    item = _item(raw, where)
    if "op" in item:
        raise RuleError("invalid_rule", f"{where}: actions take type and value only.")
    kind = ACTIONS.get(str(item.get("type", "")))
    if kind is None:
        raise RuleError(
            "unknown_action",
            f"{where}: unknown action {item.get('type')!r}; use one of "
            f"{', '.join(sorted(ACTIONS))}.",
        )
    if item.get("value") in (None, "", []):
        raise RuleError("invalid_value", f"{where}: {kind.name} needs a value.")
    try:
        value = kind.parse(item.get("value"))
    except RuleError as exc:
        raise RuleError(exc.code, f"{where} ({kind.name}): {exc.message}.") from None
    return {"type": kind.name, "value": value}


def check_rule(
    *, trigger: str, match: str, conditions: Any, actions: Any
) -> CheckedRule:
    """The rule as it will be stored; :class:`RuleError` (400) says what is wrong.

    1. Trigger and match are known; conditions and actions are lists of known
       types, each value valid for its type.
    2. A time-based rule measures time (at least one time condition), so the
       periodic pass knows when an episode begins and fires once in it.
    3. No two actions set the same thing to different values (status solved and
       status open; add and remove one tag).
    4. A rule whose actions cause its own trigger is allowed with a note: changes
       made by rules never trigger rules, so it runs once per event.
    """
    if trigger not in Rule.Trigger.values:
        raise RuleError(
            "invalid_trigger",
            f"trigger: unknown {trigger!r}; use {', '.join(Rule.Trigger.values)}.",
        )
    if match not in Rule.Match.values:
        raise RuleError("invalid_match", "match: use 'all' or 'any'.")
    if not isinstance(conditions, list) or not isinstance(actions, list):
        raise RuleError("invalid_rule", "conditions and actions must be lists.")
    if len(conditions) > MAX_CONDITIONS or len(actions) > MAX_ACTIONS:
        raise RuleError(
            "rule_too_big",
            f"A rule has at most {MAX_CONDITIONS} conditions and {MAX_ACTIONS} actions.",
        )
    if not actions:
        raise RuleError(
            "actions_required", "actions: a rule needs at least one action."
        )
    clean_conditions = [
        check_condition(raw, i, trigger) for i, raw in enumerate(conditions)
    ]
    clean_actions = [check_action(raw, i) for i, raw in enumerate(actions)]
    # 2.
    if trigger == Rule.Trigger.TIME_BASED and not any(
        CONDITIONS[c["type"]].episode for c in clean_conditions
    ):
        timed = sorted(n for n, c in CONDITIONS.items() if c.episode)
        raise RuleError(
            "time_condition_required",
            "conditions: a time-based rule needs a time condition ("
            + ", ".join(timed)
            + "), e.g. status is pending_customer and hours_in_status >= 120.",
        )
    # 3.
    slots: dict[str, tuple[Any, int]] = {}
    for index, action in enumerate(clean_actions):
        for slot, value in ACTIONS[action["type"]].slots(action["value"]):
            if slot in slots and slots[slot][0] != value:
                other = slots[slot][1]
                raise RuleError(
                    "contradictory_actions",
                    f"actions[{other}] and actions[{index}] contradict each other: "
                    f"{_slot_name(slot)} cannot be both {describe(slots[slot][0])} "
                    f"and {describe(value)}.",
                )
            slots[slot] = (value, index)
    # 4.
    notes = []
    for action in clean_actions:
        if trigger in ACTIONS[action["type"]].causes(action["value"]):
            notes.append(
                f"The action {action['type']} causes a “{TRIGGER_LABELS[trigger].lower()}” "
                "event, this rule's own trigger. Events caused by rules are never "
                "evaluated again, so it fires at most once per event and cannot loop."
            )
            break
    return CheckedRule(trigger, match, clean_conditions, clean_actions, notes)


def _slot_name(slot: str) -> str:
    if slot.startswith("tag:"):
        return f"tag {slot.removeprefix('tag:')}"
    return slot.replace("_", " ")


# The desk form's text: one condition or action per line.


def condition_line(condition: dict[str, Any]) -> str:
    kind = CONDITIONS.get(condition["type"])
    value = condition.get("value")
    shown = kind.show(value) if kind and kind.show and value is not None else None
    return " ".join(
        part
        for part in (condition["type"], condition["op"], shown or describe(value))
        if part
    )


def action_line(action: dict[str, Any]) -> str:
    kind = ACTIONS.get(action["type"])
    value = action.get("value")
    shown = kind.show(value) if kind and kind.show else None
    return f"{action['type']} {shown or describe(value)}".strip()


def parse_condition_lines(text: str) -> list[dict[str, Any]]:
    """``priority >= high`` / ``tag has_any billing, invoice`` → condition dicts;
    what each means is checked by :func:`check_rule`."""
    items = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        kind, _, rest = line.strip().partition(" ")
        op, _, value = rest.strip().partition(" ")
        items.append({"type": kind, "op": op, "value": value.strip() or None})
    return items


def parse_action_lines(text: str) -> list[dict[str, Any]]:
    items = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        kind, _, value = line.strip().partition(" ")
        items.append({"type": kind, "value": value.strip() or None})
    return items
