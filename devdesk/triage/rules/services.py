"""Every change to the rule set: create, change, delete, reorder, (de)activate.

Only admins change rules (agents may read them). Each service checks the rule with
:func:`devdesk.triage.rules.spec.check_rule`, writes in one transaction and moves
the rule-set version so every process recompiles.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from devdesk.accounts.models import User
from devdesk.triage.models import Rule
from devdesk.triage.rules.access import can_edit_rules
from devdesk.triage.rules.engine import bump_version
from devdesk.triage.rules.registry import RuleError
from devdesk.triage.rules.spec import CheckedRule, check_rule

MAX_NAME_CHARS = 120
MAX_DESCRIPTION_CHARS = 2000
FIELDS = frozenset(
    {
        "name",
        "description",
        "trigger",
        "match",
        "conditions",
        "actions",
        "stop_processing",
        "is_active",
        "position",
    }
)


def _allowed(acting_user: User) -> None:
    if not can_edit_rules(acting_user):
        raise RuleError("not_allowed", "Only admins change rules.", status=403)


def _name(name: str, *, exclude: int | None = None) -> str:
    name = " ".join(str(name).split())
    if not name:
        raise RuleError("name_required", "name: a rule needs a name.")
    if len(name) > MAX_NAME_CHARS:
        raise RuleError("name_too_long", f"name: at most {MAX_NAME_CHARS} characters.")
    taken = Rule.objects.filter(name__iexact=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise RuleError(
            "name_taken", f"name: there is already a rule named {name!r}.", status=409
        )
    return name


def _description(text: str) -> str:
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise RuleError(
            "description_too_long",
            f"description: at most {MAX_DESCRIPTION_CHARS} characters.",
        )
    return text.strip()


def _next_position(trigger: str) -> int:
    last = Rule.objects.filter(trigger=trigger).aggregate(m=Max("position"))["m"]
    return 0 if last is None else last + 1


def create_rule(
    *,
    acting_user: User,
    name: str,
    trigger: str,
    actions: list[dict[str, Any]],
    conditions: list[dict[str, Any]] | None = None,
    match: str = Rule.Match.ALL,
    description: str = "",
    stop_processing: bool = False,
    is_active: bool = True,
) -> tuple[Rule, CheckedRule]:
    """Add a rule at the end of its trigger's order; returns it with the notes of
    its check. Raises :class:`RuleError` (400, 403, 409) and writes nothing then."""
    _allowed(acting_user)
    checked = check_rule(
        trigger=trigger, match=match, conditions=conditions or [], actions=actions
    )
    with transaction.atomic():
        rule = Rule.objects.create(
            name=_name(name),
            description=_description(description),
            trigger=checked.trigger,
            match=checked.match,
            conditions=checked.conditions,
            actions=checked.actions,
            position=_next_position(checked.trigger),
            stop_processing=stop_processing,
            is_active=is_active,
            created_by=acting_user,
            updated_by=acting_user,
        )
        bump_version()
    return rule, checked


def update_rule(
    rule: Rule, *, acting_user: User, **changes: Any
) -> tuple[Rule, CheckedRule]:
    """Change the given fields of ``rule`` (any of :data:`FIELDS`); the whole rule
    is checked again. ``position`` moves it within its trigger's order (0 first)."""
    _allowed(acting_user)
    unknown = set(changes) - FIELDS
    if unknown:
        raise RuleError("invalid_field", f"Cannot change {', '.join(sorted(unknown))}.")
    checked = check_rule(
        trigger=changes.get("trigger", rule.trigger),
        match=changes.get("match", rule.match),
        conditions=changes.get("conditions", rule.conditions),
        actions=changes.get("actions", rule.actions),
    )
    with transaction.atomic():
        rule = Rule.objects.select_for_update().get(pk=rule.pk)
        if "name" in changes:
            rule.name = _name(changes["name"], exclude=rule.pk)
        if "description" in changes:
            rule.description = _description(changes["description"])
        moved_trigger = checked.trigger != rule.trigger
        rule.trigger, rule.match = checked.trigger, checked.match
        rule.conditions, rule.actions = checked.conditions, checked.actions
        for flag in ("stop_processing", "is_active"):
            if flag in changes:
                setattr(rule, flag, bool(changes[flag]))
        if moved_trigger:
            rule.position = _next_position(rule.trigger)
        rule.updated_by = acting_user
        rule.updated_at = timezone.now()
        rule.save()
        if "position" in changes:
            _move(rule, changes["position"])
        bump_version()
    return rule, checked


def _move(rule: Rule, position: Any) -> None:
    if isinstance(position, bool) or not isinstance(position, int) or position < 0:
        raise RuleError(
            "invalid_position", "position: give a whole number, 0 for the first rule."
        )
    siblings = list(
        Rule.objects.filter(trigger=rule.trigger)
        .exclude(pk=rule.pk)
        .order_by("position", "id")
    )
    siblings.insert(min(position, len(siblings)), rule)
    for index, sibling in enumerate(siblings):
        if sibling.position != index:
            sibling.position = index
            sibling.save(update_fields=["position"])


def move_rule(rule: Rule, *, acting_user: User, position: int) -> Rule:
    """Put ``rule`` at ``position`` in its trigger's order (0 is evaluated first)."""
    _allowed(acting_user)
    with transaction.atomic():
        _move(rule, position)
        bump_version()
    rule.refresh_from_db()
    return rule


def set_rule_active(rule: Rule, *, acting_user: User, is_active: bool) -> Rule:
    """Switch a rule on or off; an inactive rule keeps its place in the order."""
    _allowed(acting_user)
    with transaction.atomic():
        rule.is_active = is_active
        rule.updated_by = acting_user
        rule.updated_at = timezone.now()
        rule.save(update_fields=["is_active", "updated_by", "updated_at"])
        bump_version()
    return rule


def delete_rule(rule: Rule, *, acting_user: User) -> None:
    """Delete a rule and its firing records; the events it wrote stay in history."""
    _allowed(acting_user)
    with transaction.atomic():
        rule.delete()
        bump_version()
