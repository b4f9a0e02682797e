"""Each ticket's SLA clocks follow its events; the periodic pass warns and breaches once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from devdesk.tickets.models import Message, Ticket, TicketEvent
from devdesk.tickets.services import (
    NewTicket,
    add_message,
    change_status,
    open_ticket,
    update_ticket,
)
from devdesk.tickets.tests.factories import make_ticket
from devdesk.triage.models import SlaBreach, TicketSla
from devdesk.triage.sla import run_sla_pass, set_policy
from devdesk.triage.tests.factories_sla import make_calendar, make_policy

BERLIN = ZoneInfo("Europe/Berlin")
# Monday 3 June 2024, 10:00 in Berlin.
MONDAY_10 = datetime(2024, 6, 3, 10, 0, tzinfo=BERLIN)


def at(when: datetime) -> time_machine.travel:
    return time_machine.travel(when, tick=False)


@pytest.fixture
def calendar(db):  # type: ignore[no-untyped-def]
    return make_calendar()


@pytest.fixture
def policy(calendar):  # type: ignore[no-untyped-def]
    return make_policy()


@pytest.fixture
def opened(acme_customer, policy, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """An Acme ticket opened Monday 10:00, its SLA started by the created event."""

    def _open(**fields):  # type: ignore[no-untyped-def]
        with at(MONDAY_10), django_capture_on_commit_callbacks(execute=True):
            return make_ticket(acme_customer, **fields)

    return _open


@pytest.fixture
def run(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """``run(when, fn, *args, **kw)``: call a service at ``when`` with its
    after-commit SLA updates."""

    def _run(when, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        with at(when), django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return _run


def sla(ticket: Ticket) -> TicketSla:
    return TicketSla.objects.get(ticket=ticket)


def test_a_new_ticket_gets_due_times_in_business_hours(opened, policy):
    ticket = opened()
    state = sla(ticket)
    assert state.policy == policy
    assert state.first_response_due_at == datetime(2024, 6, 3, 11, 0, tzinfo=BERLIN)
    # 8 business hours from Monday 10:00 is Tuesday 10:00.
    assert state.resolution_due_at == datetime(2024, 6, 4, 10, 0, tzinfo=BERLIN)
    # Warned at 75% of 60 minutes: 15 minutes before.
    assert state.first_response_warn_at == datetime(2024, 6, 3, 10, 45, tzinfo=BERLIN)
    assert state.next_due_at == state.first_response_due_at


def test_no_policy_means_no_sla_state(
    acme_customer, calendar, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(acme_customer)
    assert not TicketSla.objects.filter(ticket=ticket).exists()


def test_the_most_specific_policy_wins(
    acme, acme_customer, globex_customer, policy, django_capture_on_commit_callbacks
):
    acme.plan = "enterprise"
    acme.save()
    make_policy(name="Enterprise", plan="enterprise", first_response_minutes=30)
    make_policy(
        name="Enterprise urgent",
        plan="enterprise",
        priority=4,
        first_response_minutes=15,
    )
    make_policy(name="Any urgent", priority=4, first_response_minutes=45)

    def open_as(requester, priority):  # type: ignore[no-untyped-def]
        new = NewTicket(requester=requester, subject="s", body="b", priority=priority)
        with django_capture_on_commit_callbacks(execute=True):
            return open_ticket(new, acting_user=requester)

    assert sla(open_as(acme_customer, 4)).policy.name == "Enterprise urgent"
    assert sla(open_as(acme_customer, 2)).policy.name == "Enterprise"
    assert sla(open_as(globex_customer, 4)).policy.name == "Any urgent"
    assert sla(open_as(globex_customer, 1)).policy.name == "Default"


def test_a_public_agent_reply_meets_the_first_response(opened, agent, run):
    ticket = opened()
    run(MONDAY_10 + timedelta(minutes=20), add_message, ticket, author=agent, body="Hi")
    state = sla(ticket)
    assert state.first_response_met_at == MONDAY_10 + timedelta(minutes=20)
    assert state.next_due_at == state.resolution_due_at


def test_an_internal_note_is_not_a_response(opened, agent, run):
    ticket = opened()
    run(
        MONDAY_10 + timedelta(minutes=20),
        add_message,
        ticket,
        author=agent,
        body="Looking",
        kind=Message.Kind.INTERNAL,
    )
    assert sla(ticket).first_response_met_at is None


def test_a_customer_message_after_a_reply_starts_the_next_response_clock(
    opened, agent, acme_customer, run
):
    ticket = opened()
    run(MONDAY_10 + timedelta(minutes=20), add_message, ticket, author=agent, body="Hi")
    run(
        MONDAY_10 + timedelta(hours=6),
        add_message,
        ticket,
        author=acme_customer,
        body="?",
    )
    state = sla(ticket)
    # 16:00 + 120 business minutes: one hour Monday, one hour Tuesday from 09:00.
    assert state.next_response_due_at == datetime(2024, 6, 4, 10, 0, tzinfo=BERLIN)
    run(
        datetime(2024, 6, 4, 9, 30, tzinfo=BERLIN),
        add_message,
        ticket,
        author=agent,
        body="A",
    )
    assert sla(ticket).next_response_met_at == datetime(
        2024, 6, 4, 9, 30, tzinfo=BERLIN
    )


def test_pending_customer_pauses_and_the_paused_time_is_not_counted(
    opened, agent, acme_customer, run
):
    ticket = opened()
    # Replied at 10:30 and set pending; resolution was due Tuesday 10:00.
    run(
        MONDAY_10 + timedelta(minutes=30),
        add_message,
        ticket,
        author=agent,
        body="Can you send logs?",
        new_status=Ticket.Status.PENDING_CUSTOMER,
    )
    assert sla(ticket).paused_at == MONDAY_10 + timedelta(minutes=30)
    # Nothing breaches while paused, however late.
    assert run_sla_pass(now=datetime(2024, 6, 10, tzinfo=UTC)).breached == 0
    # The customer answers Wednesday 12:00: 23.5 business hours were left... no:
    # from Monday 10:30 to Tuesday 10:00 are 7.5 business hours.
    wednesday_noon = datetime(2024, 6, 5, 12, 0, tzinfo=BERLIN)
    run(wednesday_noon, add_message, ticket, author=acme_customer, body="Logs attached")
    state = sla(ticket)
    assert state.paused_at is None
    assert state.resolution_due_at == datetime(2024, 6, 6, 11, 30, tzinfo=BERLIN)
    # The next response counts from the reopening, without the pause.
    assert state.next_response_due_at == datetime(2024, 6, 5, 14, 0, tzinfo=BERLIN)


def test_solving_meets_resolution_and_reopening_runs_it_again(
    opened, agent, acme_customer, run
):
    ticket = opened()
    run(
        MONDAY_10 + timedelta(minutes=10),
        add_message,
        ticket,
        author=agent,
        body="Fixed",
    )
    solved_at = MONDAY_10 + timedelta(hours=1)
    run(solved_at, change_status, ticket, Ticket.Status.SOLVED, acting_user=agent)
    assert sla(ticket).resolution_met_at == solved_at
    run(
        datetime(2024, 6, 4, 9, 0, tzinfo=BERLIN),
        add_message,
        ticket,
        author=acme_customer,
        body="Still broken",
    )
    state = sla(ticket)
    assert state.resolution_met_at is None
    # Seven business hours were left at solving; counted again from Tuesday 09:00.
    assert state.resolution_due_at == datetime(2024, 6, 4, 16, 0, tzinfo=BERLIN)


def test_the_pass_warns_then_breaches_each_exactly_once(opened):
    ticket = opened()
    warn_time = datetime(2024, 6, 3, 10, 50, tzinfo=BERLIN)
    assert run_sla_pass(now=warn_time).warned == 1
    assert run_sla_pass(now=warn_time).warned == 0
    breach_time = datetime(2024, 6, 3, 11, 5, tzinfo=BERLIN)
    first = run_sla_pass(now=breach_time)
    again = run_sla_pass(now=breach_time + timedelta(minutes=1))
    assert (first.breached, again.breached) == (1, 0)
    kinds = list(
        ticket.events.filter(kind__startswith="sla_").values_list(
            "kind", "data__target"
        )
    )
    assert kinds == [
        (TicketEvent.Kind.SLA_WARNING, "first_response"),
        (TicketEvent.Kind.SLA_BREACHED, "first_response"),
    ]
    breach = SlaBreach.objects.get()
    assert (breach.ticket_id, breach.target) == (ticket.pk, "first_response")
    assert breach.due_at == datetime(2024, 6, 3, 11, 0, tzinfo=BERLIN)


def test_a_clock_already_overdue_breaches_without_a_late_warning(opened):
    ticket = opened()
    result = run_sla_pass(now=datetime(2024, 6, 3, 12, 0, tzinfo=BERLIN))
    assert (result.warned, result.breached) == (0, 1)
    assert not ticket.events.filter(kind=TicketEvent.Kind.SLA_WARNING).exists()


def test_a_met_target_never_breaches(opened, agent, run):
    ticket = opened()
    run(MONDAY_10 + timedelta(minutes=5), add_message, ticket, author=agent, body="Hi")
    result = run_sla_pass(now=datetime(2024, 6, 3, 12, 0, tzinfo=BERLIN))
    assert result.breached == 0


def test_set_policy_retimes_running_clocks_and_records_an_event(opened, agent):
    ticket = opened()
    faster = make_policy(
        name="Hotfix", plan="hotfix", first_response_minutes=30, resolution_minutes=240
    )
    set_policy(ticket, faster, acting_user=agent, reason="rule: outage", now=MONDAY_10)
    state = sla(ticket)
    assert state.policy == faster
    assert state.is_policy_pinned
    assert state.first_response_due_at == datetime(2024, 6, 3, 10, 30, tzinfo=BERLIN)
    assert state.resolution_due_at == datetime(2024, 6, 3, 14, 0, tzinfo=BERLIN)
    event = ticket.events.get(kind=TicketEvent.Kind.SLA_POLICY_CHANGED)
    assert event.data["new"]["name"] == "Hotfix"
    assert event.data["reason"] == "rule: outage"
    assert event.actor == agent


def test_set_policy_twice_records_one_event(opened):
    ticket = opened()
    other = make_policy(name="Other", plan="other")
    set_policy(ticket, other, now=MONDAY_10)
    set_policy(ticket, other, now=MONDAY_10)
    assert ticket.events.filter(kind=TicketEvent.Kind.SLA_POLICY_CHANGED).count() == 1


def test_a_priority_change_moves_to_the_matching_policy(opened, agent, run):
    ticket = opened()
    urgent = make_policy(name="Urgent", priority=4, first_response_minutes=15)
    run(MONDAY_10, update_ticket, ticket, acting_user=agent, priority=4)
    state = sla(ticket)
    assert state.policy == urgent
    assert state.first_response_due_at == datetime(2024, 6, 3, 10, 15, tzinfo=BERLIN)
    assert ticket.events.filter(kind=TicketEvent.Kind.SLA_POLICY_CHANGED).exists()


def test_a_pinned_policy_survives_a_priority_change(opened, agent, run):
    ticket = opened()
    pinned = make_policy(name="Pinned", plan="pinned")
    make_policy(name="Urgent", priority=4, first_response_minutes=15)
    set_policy(ticket, pinned, now=MONDAY_10)
    run(MONDAY_10, update_ticket, ticket, acting_user=agent, priority=4)
    assert sla(ticket).policy == pinned
