"""Conditions and actions that come from triage's other parts: the sentiment of the
message (cool-down), business hours (SLA calendars), a ticket's SLA policy and
cool-down. Registered on import, like the built-in ones."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from devdesk.triage import cooldown, sentiment
from devdesk.triage.calendars import ALWAYS_OPEN, is_open
from devdesk.triage.models import BusinessCalendar, SlaPolicy
from devdesk.triage.rules.facts import TicketFacts
from devdesk.triage.rules.registry import (
    ActionType,
    ConditionType,
    choice,
    existing,
    number,
    register_action,
    register_condition,
)
from devdesk.triage.sla import set_policy

YES_NO = {"yes": True, "true": True, "no": False, "false": False}


def _rule_name(facts: TicketFacts) -> str:
    return f"rule “{facts.rule['name']}”" if facts.rule else "a rule"


# --- conditions -------------------------------------------------------------------


def _message_sentiment(facts: TicketFacts) -> float | None:
    """The sentiment of the message that triggered the rule (None without one)."""
    if facts.message is None or not facts.message.body.strip():
        return None
    if "sentiment" not in facts.read_cache:
        facts.read_cache["sentiment"] = sentiment.score(facts.message.body)
    return facts.read_cache["sentiment"]  # type: ignore[no-any-return]


def _sentiment_test(facts: TicketFacts, op: str, value: Any) -> bool:
    score = _message_sentiment(facts)
    if score is None:
        return False
    return bool(score >= value if op == "gte" else score <= value)


def _calendar_of(facts: TicketFacts) -> Any:
    """The ticket's team's calendar, else the desk's default, else always open."""
    team_id = facts.ticket.team_id
    found = (
        BusinessCalendar.objects.filter(team_id=team_id).first() if team_id else None
    )
    return (
        found or BusinessCalendar.objects.filter(is_default=True).first() or ALWAYS_OPEN
    )


def _business_hours_test(facts: TicketFacts, op: str, value: Any) -> bool:
    if "business_hours" not in facts.read_cache:
        facts.read_cache["business_hours"] = is_open(_calendar_of(facts), facts.now)
    return bool(facts.read_cache["business_hours"] == value)


CONDITIONS = [
    ConditionType(
        name="sentiment",
        label="Sentiment of the message",
        operators=("gte", "lte"),
        parse=number(-1.0, 1.0),
        test=_sentiment_test,
        triggers=frozenset({"ticket_created", "message_added"}),
        help="-1 (angry) to 1 (glad); below -0.5 reads as angry",
        cost=1,
    ),
    ConditionType(
        name="in_business_hours",
        label="In business hours",
        operators=("is",),
        parse=choice(lambda: YES_NO, "answer"),
        test=_business_hours_test,
        help="yes or no, by the ticket's team's calendar (else the desk's default)",
        cost=2,
        show=lambda value: "yes" if value else "no",
    ),
]

# --- actions ----------------------------------------------------------------------


def _policy_name(raw: Any) -> str:
    return str(
        existing(SlaPolicy.objects.all, "name", "SLA policy", "by its name")("is", raw)
    )


def _plan_sla(facts: TicketFacts, name: str) -> str | None:
    state = getattr(facts.ticket, "sla", None)
    if state is not None and state.policy is not None and state.policy.name == name:
        return None
    return f"SLA policy {name}"


def _apply_sla(facts: TicketFacts, name: str) -> str | None:
    text = _plan_sla(facts, name)
    if text:
        policy = SlaPolicy.objects.filter(name=name).first()
        if policy is None:
            from devdesk.tickets.errors import TicketError

            raise TicketError("gone", f"the SLA policy {name!r} is gone")
        set_policy(facts.ticket, policy, reason=_rule_name(facts), now=facts.now)
    return text


def _plan_cool_down(facts: TicketFacts, hours: float) -> str | None:
    return f"hold in cool-down for {hours:g} h"


def _apply_cool_down(facts: TicketFacts, hours: float) -> str | None:
    cooldown.hold(
        facts.ticket,
        reason=_rule_name(facts),
        until=facts.now + timedelta(hours=hours),
        now=facts.now,
    )
    return _plan_cool_down(facts, hours)


ACTIONS = [
    ActionType(
        name="set_sla_policy",
        label="Change SLA policy",
        parse=_policy_name,
        plan=_plan_sla,
        apply=_apply_sla,
        slots=lambda name: [("sla_policy", name)],
        help="an SLA policy's name",
    ),
    ActionType(
        name="hold_cool_down",
        label="Hold in cool-down",
        parse=lambda raw: number(0.25, 24 * 14)("is", raw),
        plan=_plan_cool_down,
        apply=_apply_cool_down,
        slots=lambda hours: [("cool_down", hours)],
        help="hours (automatic answers and nudges hold meanwhile)",
    ),
]

for _condition in CONDITIONS:
    register_condition(_condition)
for _action in ACTIONS:
    register_action(_action)
