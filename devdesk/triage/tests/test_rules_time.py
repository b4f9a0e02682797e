"""Time-based rules: the periodic pass fires once per ticket per episode."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from devdesk.tickets.models import Message, Ticket, TicketEvent
from devdesk.tickets.services import add_message, change_status
from devdesk.tickets.tests.factories import MacroFactory, make_ticket
from devdesk.triage.models import Rule
from devdesk.triage.rules.engine import run_time_rules
from devdesk.triage.tests.rules_helpers import act, cond, make_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending_rule(admin_user):  # type: ignore[no-untyped-def]
    macro = MacroFactory(
        name="Closing quiet ticket",
        body="Solved after 5 days without an answer.",
        kind=Message.Kind.INTERNAL,
    )
    return make_rule(
        admin_user,
        name="Pending customer 5 days",
        trigger=Rule.Trigger.TIME_BASED,
        conditions=[
            cond("status", "is", "pending_customer"),
            cond("hours_in_status", "gte", 120),
        ],
        actions=[act("send_macro", macro.name), act("set_status", "solved")],
    )


@pytest.fixture
def pending_ticket(agent, acme_customer):  # type: ignore[no-untyped-def]
    ticket = make_ticket(acme_customer)
    add_message(ticket, author=agent, body="Could you send the logs?")
    change_status(ticket, "pending_customer", acting_user=agent)
    return ticket


def test_a_ticket_pending_for_five_days_is_solved_with_a_note(
    pending_rule, pending_ticket
):
    now = timezone.now()

    assert run_time_rules(now=now + timedelta(days=4)) == 0
    assert run_time_rules(now=now + timedelta(days=5, hours=1)) == 1

    pending_ticket.refresh_from_db()
    assert pending_ticket.status == Ticket.Status.SOLVED
    note = pending_ticket.messages.get(kind=Message.Kind.INTERNAL)
    assert note.body == "Solved after 5 days without an answer."
    assert TicketEvent.objects.filter(
        ticket=pending_ticket,
        kind=TicketEvent.Kind.STATUS_CHANGED,
        data__rule__id=pending_rule.pk,
    ).exists()


def test_running_the_pass_twice_fires_once(pending_rule, pending_ticket):
    later = timezone.now() + timedelta(days=6)

    assert (run_time_rules(now=later), run_time_rules(now=later)) == (1, 0)
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.RULE_APPLIED).count() == 1


def test_a_new_pending_episode_fires_again(
    admin_user, agent, acme_customer, pending_ticket
):
    make_rule(
        admin_user,
        trigger=Rule.Trigger.TIME_BASED,
        conditions=[
            cond("status", "is", "pending_customer"),
            cond("hours_in_status", "gte", 48),
        ],
        actions=[act("add_tag", "nudged")],
    )
    later = timezone.now() + timedelta(days=3)
    assert (run_time_rules(now=later), run_time_rules(now=later)) == (1, 0)

    # the customer answers, the agent asks again: a new stretch of waiting
    add_message(pending_ticket, author=acme_customer, body="Here they are")
    change_status(pending_ticket, "pending_customer", acting_user=agent)

    assert run_time_rules(now=timezone.now() + timedelta(days=1)) == 0
    assert run_time_rules(now=timezone.now() + timedelta(days=3)) == 1


def test_no_agent_reply_for_four_hours_notifies_once(
    admin_user, acme_customer, mailoutbox, django_capture_on_commit_callbacks
):
    make_rule(
        admin_user,
        trigger=Rule.Trigger.TIME_BASED,
        conditions=[cond("hours_waiting", "gte", 4)],
        actions=[act("notify", admin_user.email), act("set_priority", "high")],
    )
    ticket = make_ticket(acme_customer)
    now = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        assert run_time_rules(now=now + timedelta(hours=3)) == 0
        assert run_time_rules(now=now + timedelta(hours=5)) == 1
        assert run_time_rules(now=now + timedelta(hours=9)) == 0

    ticket.refresh_from_db()
    assert ticket.priority == Ticket.Priority.HIGH
    assert [m.to for m in mailoutbox] == [[admin_user.email]]


def test_an_answered_ticket_is_not_waiting(admin_user, agent, acme_customer):
    make_rule(
        admin_user,
        trigger=Rule.Trigger.TIME_BASED,
        conditions=[cond("hours_waiting", "gte", 4)],
        actions=[act("add_tag", "waiting")],
    )
    ticket = make_ticket(acme_customer)
    add_message(ticket, author=agent, body="On it")

    assert run_time_rules(now=timezone.now() + timedelta(hours=5)) == 0


def test_the_scheduler_runs_the_time_based_pass():
    from devdesk.ops.schedule import SCHEDULE
    from devdesk.triage.tasks_rules import run_time_based_rules

    assert run_time_based_rules.name in {p.name for p in SCHEDULE}
