"""Rules using triage's other parts: the message's sentiment, business hours, a
ticket's SLA policy, cool-down, and escalation to an engineering issue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devdesk.tickets.models import Ticket, TicketEvent
from devdesk.tickets.services import add_message
from devdesk.tickets.tests.factories import make_ticket
from devdesk.triage.models import EngineeringIssueLink, Rule, TicketSla
from devdesk.triage.rules.engine import evaluate_event
from devdesk.triage.rules.registry import RuleError
from devdesk.triage.tests.factories_sla import make_calendar, make_policy
from devdesk.triage.tests.rules_helpers import act, cond, make_rule

pytestmark = pytest.mark.django_db

# Wednesday 3 December 2025, in Berlin (UTC+1): 10:00 is open, 20:00 is closed.
OPEN = datetime(2025, 12, 3, 9, 0, tzinfo=UTC)
CLOSED = datetime(2025, 12, 3, 19, 0, tzinfo=UTC)


def last_event(ticket: Ticket, kind: str) -> TicketEvent:
    return TicketEvent.objects.filter(ticket=ticket, kind=kind).latest("id")


def tags(ticket: Ticket) -> set[str]:
    return set(ticket.tags.values_list("name", flat=True))


@pytest.mark.parametrize(
    ("body", "tagged"),
    [
        ("This is USELESS, we are furious and your SDK is garbage!!!", True),
        ("Thanks, that fixed it. Have a great day!", False),
    ],
)
def test_a_rule_on_the_messages_sentiment(admin_user, acme_customer, body, tagged):
    make_rule(
        admin_user,
        trigger=Rule.Trigger.MESSAGE_ADDED,
        conditions=[cond("sentiment", "lte", -0.5)],
        actions=[act("add_tag", "angry")],
    )
    ticket = make_ticket(acme_customer)
    add_message(ticket, author=acme_customer, body=body)

    evaluate_event(last_event(ticket, TicketEvent.Kind.MESSAGE_ADDED))

    assert ("angry" in tags(ticket)) is tagged


@pytest.mark.parametrize(("now", "tagged"), [(OPEN, False), (CLOSED, True)])
def test_a_rule_on_business_hours_reads_the_calendar(
    admin_user, acme_customer, now, tagged
):
    make_calendar()
    make_rule(
        admin_user,
        conditions=[cond("in_business_hours", "is", "no")],
        actions=[act("add_tag", "after-hours")],
    )
    ticket = make_ticket(acme_customer)

    evaluate_event(last_event(ticket, TicketEvent.Kind.CREATED), now=now)

    assert ("after-hours" in tags(ticket)) is tagged


def test_a_rule_changes_the_tickets_sla_policy_naming_itself(admin_user, acme_customer):
    make_policy(name="Standard")
    priority = make_policy(
        name="Priority lane", plan="enterprise", first_response_minutes=15
    )
    make_rule(
        admin_user,
        name="VIP",
        conditions=[cond("text", "contains", "vip")],
        actions=[act("set_sla_policy", "Priority lane")],
    )
    ticket = make_ticket(acme_customer, subject="VIP: login fails")

    evaluate_event(last_event(ticket, TicketEvent.Kind.CREATED))

    assert TicketSla.objects.get(ticket=ticket).policy == priority
    changed = last_event(ticket, TicketEvent.Kind.SLA_POLICY_CHANGED)
    assert changed.data["rule"]["name"] == "VIP"


def test_a_rule_holds_the_ticket_in_cool_down(admin_user, acme_customer):
    make_rule(
        admin_user,
        conditions=[cond("text", "contains", "cancel")],
        actions=[act("hold_cool_down", 4)],
    )
    ticket = make_ticket(acme_customer, subject="We will cancel our contract")

    evaluate_event(last_event(ticket, TicketEvent.Kind.CREATED), now=OPEN)

    ticket.refresh_from_db()
    assert ticket.cooldown_until == OPEN + timedelta(hours=4)
    assert last_event(ticket, TicketEvent.Kind.COOLDOWN_STARTED)


def test_escalation_by_a_rule_links_an_engineering_issue(
    admin_user, agent, engineering, acme_customer
):
    make_rule(
        admin_user,
        conditions=[cond("text", "contains", "segfault")],
        actions=[act("escalate", {"team": engineering.slug, "note": "Crash"})],
    )
    ticket = make_ticket(acme_customer, subject="segfault in the SDK", owner=agent)

    evaluate_event(last_event(ticket, TicketEvent.Kind.CREATED))

    link = EngineeringIssueLink.objects.get(ticket=ticket)
    assert link.issue.team == engineering
    ticket.refresh_from_db()
    assert ticket.owner == agent


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("set_sla_policy", "No such policy", "no SLA policy"),
        ("hold_cool_down", 0, "give a number"),
    ],
)
def test_unknown_policies_and_bad_hours_are_refused(admin_user, kind, value, message):
    with pytest.raises(RuleError, match=message):
        make_rule(admin_user, actions=[act(kind, value)])
