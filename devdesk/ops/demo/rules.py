"""The demo desk's rules: a handful a developer-support team would write, and the
events of their work on the tickets still open, so the history shows rules acting.

Written after the tickets are committed, through the same services as the desk
(``create_rule``), then run on the open tickets' creation events as if those had
just come in.
"""

from __future__ import annotations

from typing import Any

from devdesk.accounts.models import User
from devdesk.ops.demo.content import Cast
from devdesk.tickets.models import Ticket, TicketEvent
from devdesk.triage.models import Rule
from devdesk.triage.rules.engine import evaluate_event
from devdesk.triage.rules.services import create_rule


def _c(kind: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"type": kind, "op": op, "value": value}


def _a(kind: str, value: Any) -> dict[str, Any]:
    return {"type": kind, "value": value}


def demo_rules(cast: Cast) -> list[dict[str, Any]]:
    """The rules, in the order they run within each trigger."""
    support = cast.support_team
    return [
        {
            "name": "Production down → urgent",
            "description": "Anything that says production is down is urgent, and "
            "tagged so the on-call engineer's view picks it up.",
            "trigger": Rule.Trigger.TICKET_CREATED,
            "match": Rule.Match.ANY,
            "conditions": [
                _c(
                    "text",
                    "contains",
                    [
                        "production down",
                        "production is down",
                        "prod is down",
                        "outage",
                        "all requests fail",
                    ],
                ),
                _c("tag", "has_any", ["production-down"]),
            ],
            "actions": [
                _a("set_priority", "urgent"),
                _a("add_tag", ["production-down"]),
            ],
        },
        {
            "name": "Billing questions → Developer Support, tagged billing",
            "description": "Invoices and plans are answered by the support lead.",
            "trigger": Rule.Trigger.TICKET_CREATED,
            "conditions": [
                _c("text", "contains", ["invoice", "billing", "receipt", "my plan"]),
            ],
            "actions": [
                _a("add_tag", ["billing"]),
                _a("assign_team", support),
                _a("notify", [cast.admin]),
            ],
        },
        {
            "name": "Enterprise plan → at least high",
            "trigger": Rule.Trigger.TICKET_CREATED,
            "conditions": [
                _c("plan", "is", "enterprise"),
                _c("priority", "lte", "normal"),
            ],
            "actions": [_a("set_priority", "high")],
        },
        {
            "name": "New and unassigned → the person on shift",
            "description": "Until the rotation exists, the person on shift is the "
            "Developer Support team's default person.",
            "trigger": Rule.Trigger.TICKET_CREATED,
            "conditions": [_c("assignee", "is_not_set")],
            "actions": [_a("assign_on_shift", support)],
        },
        {
            "name": "Pending customer 5 days → solved",
            "description": "No answer in five days: close the loop politely; a reply "
            "opens the ticket again.",
            "trigger": Rule.Trigger.TIME_BASED,
            "conditions": [
                _c("status", "is", "pending_customer"),
                _c("hours_in_status", "gte", 120),
            ],
            "actions": [_a("send_macro", "Closing: no reply")],
        },
        {
            "name": "Customer waiting a day → tell the team",
            "description": "Switched off in the demo: its history has older waits.",
            "trigger": Rule.Trigger.TIME_BASED,
            "conditions": [_c("hours_waiting", "gte", 24)],
            "actions": [_a("notify", [f"team:{support}"])],
            "is_active": False,
        },
    ]


# Run on the open tickets already there; the on-shift rule is left for new ones.
RUN_ON_OPEN_TICKETS = 3


def write_rules(cast: Cast) -> int:
    """Create the demo rules and let the first ones act on the open tickets;
    returns how many times rules fired."""
    admin = User.objects.get(email=cast.admin)
    rules = demo_rules(cast)
    for spec in rules[:RUN_ON_OPEN_TICKETS]:
        create_rule(acting_user=admin, **spec)
    open_tickets = Ticket.objects.filter(
        status__in=Ticket.UNRESOLVED_STATUSES,
        organization__slug__in=[o.slug for o in cast.customers],
    )
    fired = 0
    for event in TicketEvent.objects.filter(
        ticket__in=open_tickets, kind=TicketEvent.Kind.CREATED
    ).order_by("created_at", "id"):
        fired += len(evaluate_event(event))
    for spec in rules[RUN_ON_OPEN_TICKETS:]:
        create_rule(acting_user=admin, **spec)
    return fired


def remove_rules(cast: Cast) -> None:
    Rule.objects.filter(name__in=[r["name"] for r in demo_rules(cast)]).delete()
