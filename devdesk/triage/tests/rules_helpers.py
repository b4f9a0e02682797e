"""Shared helpers for the rules engine's tests."""

from __future__ import annotations

from typing import Any

from devdesk.accounts.models import User
from devdesk.triage.models import Rule
from devdesk.triage.rules.services import create_rule


def make_rule(
    admin: User,
    *,
    trigger: str = Rule.Trigger.TICKET_CREATED,
    conditions: list[dict[str, Any]] | None = None,
    actions: list[dict[str, Any]],
    name: str | None = None,
    **fields: Any,
) -> Rule:
    """A rule saved through the service, as the desk and the API save them."""
    rule, _ = create_rule(
        acting_user=admin,
        name=name or f"Rule {Rule.objects.count() + 1}",
        trigger=trigger,
        conditions=conditions or [],
        actions=actions,
        **fields,
    )
    return rule


def cond(kind: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"type": kind, "op": op, "value": value}


def act(kind: str, value: Any) -> dict[str, Any]:
    return {"type": kind, "value": value}
