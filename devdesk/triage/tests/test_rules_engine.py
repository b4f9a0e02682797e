"""Rules on ticket events: what fires, in which order, once, and naming the rule."""

from __future__ import annotations

import pytest

from devdesk.accounts.models import User
from devdesk.accounts.tests.factories import TeamFactory, UserFactory
from devdesk.tickets.models import Message, Ticket, TicketEvent
from devdesk.tickets.services import NewTicket, add_message, change_status, open_ticket
from devdesk.tickets.tests.factories import MacroFactory, make_ticket
from devdesk.triage.models import Rule, RuleFiring
from devdesk.triage.rules.engine import evaluate_event
from devdesk.triage.rules.services import set_rule_active, update_rule
from devdesk.triage.tests.rules_helpers import act, cond, make_rule

pytestmark = pytest.mark.django_db

PROD_DOWN = [cond("text", "contains", "production down, prod is down")]


@pytest.fixture
def run_after_commit(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Run what happens after commit (the rules subscriber) as in production."""

    def run(action):  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    return run


def test_a_matching_new_ticket_gets_the_rules_actions_each_event_naming_the_rule(
    admin_user, acme_customer, run_after_commit
):
    rule = make_rule(
        admin_user,
        name="Production down",
        conditions=PROD_DOWN,
        actions=[act("set_priority", "urgent"), act("add_tag", "prod-down")],
    )

    ticket = run_after_commit(
        lambda: make_ticket(acme_customer, subject="Production down since 9:00")
    )

    ticket.refresh_from_db()
    assert ticket.priority == Ticket.Priority.URGENT
    assert list(ticket.tags.values_list("name", flat=True)) == ["prod-down"]
    caused = TicketEvent.objects.filter(ticket=ticket, data__rule__id=rule.pk)
    assert set(caused.values_list("kind", flat=True)) == {
        TicketEvent.Kind.PRIORITY_CHANGED,
        TicketEvent.Kind.TAGS_CHANGED,
        TicketEvent.Kind.RULE_APPLIED,
    }
    applied = caused.get(kind=TicketEvent.Kind.RULE_APPLIED)
    assert applied.data["rule"] == {"id": rule.pk, "name": "Production down"}
    assert applied.data["changes"] == ["set priority to Urgent", "add tag prod-down"]


def test_a_ticket_that_does_not_match_is_left_alone(
    admin_user, acme_customer, run_after_commit
):
    make_rule(admin_user, conditions=PROD_DOWN, actions=[act("set_priority", 4)])

    ticket = run_after_commit(lambda: make_ticket(acme_customer, subject="A question"))

    ticket.refresh_from_db()
    assert ticket.priority == Ticket.Priority.NORMAL
    assert not TicketEvent.objects.filter(kind=TicketEvent.Kind.RULE_APPLIED).exists()


def test_rules_run_in_order_and_a_later_rule_sees_the_earlier_change(
    admin_user, acme_customer, run_after_commit
):
    make_rule(admin_user, conditions=PROD_DOWN, actions=[act("set_priority", "urgent")])
    make_rule(
        admin_user,
        conditions=[cond("priority", "is", "urgent")],
        actions=[act("add_tag", "page-on-call")],
    )

    ticket = run_after_commit(
        lambda: make_ticket(acme_customer, subject="prod is down")
    )

    assert list(ticket.tags.values_list("name", flat=True)) == ["page-on-call"]


def test_stop_further_rules_keeps_later_rules_from_running(
    admin_user, acme_customer, run_after_commit
):
    make_rule(
        admin_user,
        conditions=PROD_DOWN,
        actions=[act("add_tag", "first")],
        stop_processing=True,
    )
    make_rule(admin_user, actions=[act("add_tag", "second")])

    ticket = run_after_commit(
        lambda: make_ticket(acme_customer, subject="prod is down")
    )

    assert list(ticket.tags.values_list("name", flat=True)) == ["first"]


def test_moving_a_rule_first_changes_which_one_stops_the_others(
    admin_user, acme_customer, run_after_commit
):
    make_rule(admin_user, actions=[act("add_tag", "first")], stop_processing=True)
    second = make_rule(
        admin_user, actions=[act("add_tag", "second")], stop_processing=True
    )

    update_rule(second, acting_user=admin_user, position=0)
    ticket = run_after_commit(lambda: make_ticket(acme_customer))

    assert list(ticket.tags.values_list("name", flat=True)) == ["second"]


def test_an_inactive_rule_does_not_fire(admin_user, acme_customer, run_after_commit):
    rule = make_rule(admin_user, actions=[act("add_tag", "seen")])
    set_rule_active(rule, acting_user=admin_user, is_active=False)

    ticket = run_after_commit(lambda: make_ticket(acme_customer))

    assert not ticket.tags.exists()


def test_an_edited_rule_is_used_at_once(admin_user, acme_customer, run_after_commit):
    rule = make_rule(admin_user, actions=[act("add_tag", "before")])
    run_after_commit(lambda: make_ticket(acme_customer))

    update_rule(rule, acting_user=admin_user, actions=[act("add_tag", "after")])
    ticket = run_after_commit(lambda: make_ticket(acme_customer))

    assert list(ticket.tags.values_list("name", flat=True)) == ["after"]


def test_any_condition_is_enough_with_match_any(
    admin_user, acme_customer, run_after_commit
):
    make_rule(
        admin_user,
        match="any",
        conditions=[
            cond("channel", "is", "email"),
            cond("subject", "contains", "invoice"),
        ],
        actions=[act("add_tag", "billing")],
    )

    ticket = run_after_commit(
        lambda: make_ticket(acme_customer, subject="Invoice for March is wrong")
    )

    assert list(ticket.tags.values_list("name", flat=True)) == ["billing"]


def test_billing_questions_go_to_the_billing_team(
    admin_user, acme_customer, run_after_commit
):
    billing = TeamFactory(name="Billing", slug="billing")
    make_rule(
        admin_user,
        conditions=[cond("text", "contains", "invoice, refund")],
        actions=[act("assign_team", "billing")],
    )

    ticket = run_after_commit(
        lambda: make_ticket(acme_customer, subject="Help", body="Where is my refund?")
    )

    ticket.refresh_from_db()
    assert ticket.team == billing


def test_the_person_on_shift_is_the_teams_default_person_for_now(
    admin_user, agent, acme_customer, run_after_commit
):
    team = TeamFactory(slug="first-line", default_person=agent)
    make_rule(admin_user, actions=[act("assign_on_shift", "first-line")])

    ticket = run_after_commit(lambda: make_ticket(acme_customer))

    ticket.refresh_from_db()
    assert (ticket.team, ticket.assignee) == (team, agent)


def test_a_message_rule_answering_with_a_macro_fires_once_and_does_not_loop(
    admin_user, agent, acme_customer, run_after_commit
):
    macro = MacroFactory(name="Got it", body="We read your message.")
    rule = make_rule(
        admin_user,
        trigger=Rule.Trigger.MESSAGE_ADDED,
        conditions=[cond("message_author_role", "is", "customer")],
        actions=[act("send_macro", macro.name)],
    )
    ticket = make_ticket(acme_customer)

    run_after_commit(
        lambda: add_message(ticket, author=acme_customer, body="Any news?")
    )

    bodies = list(ticket.messages.values_list("body", flat=True))
    assert bodies.count("We read your message.") == 1
    assert RuleFiring.objects.filter(rule=rule).count() == 1
    reply = ticket.messages.get(body="We read your message.")
    assert reply.author is None
    assert reply.kind == Message.Kind.PUBLIC


def test_two_rules_undoing_each_other_each_run_once_per_human_change(
    admin_user, agent, acme_customer, run_after_commit
):
    # given two rules that would ping-pong a ticket between open and pending forever
    make_rule(
        admin_user,
        trigger=Rule.Trigger.STATUS_CHANGED,
        conditions=[cond("status", "is", "open")],
        actions=[act("set_status", "pending_customer")],
    )
    make_rule(
        admin_user,
        trigger=Rule.Trigger.STATUS_CHANGED,
        conditions=[cond("status", "is", "pending_customer")],
        actions=[act("set_status", "open")],
    )
    ticket = make_ticket(acme_customer)

    # when a person opens the ticket
    run_after_commit(lambda: change_status(ticket, "open", acting_user=agent))

    # then each rule fires once in that pass (the second sees the first's change)
    # and the events their changes cause are not evaluated again
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    applied = TicketEvent.objects.filter(kind=TicketEvent.Kind.RULE_APPLIED)
    assert applied.count() == 2
    assert RuleFiring.objects.count() == 2


def test_an_event_delivered_twice_fires_each_rule_once(admin_user, acme_customer):
    make_rule(admin_user, actions=[act("notify", admin_user.email)])
    ticket = make_ticket(acme_customer)
    created = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.CREATED)

    first, second = evaluate_event(created), evaluate_event(created)

    assert (len(first), len(second)) == (1, 0)


def test_an_action_the_ticket_refuses_is_skipped_with_the_reason(
    admin_user, acme_customer, run_after_commit
):
    make_rule(admin_user, actions=[act("set_status", "solved"), act("add_tag", "auto")])

    ticket = run_after_commit(lambda: make_ticket(acme_customer))

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.NEW  # nobody answered: cannot be solved
    applied = TicketEvent.objects.get(kind=TicketEvent.Kind.RULE_APPLIED)
    assert applied.data["changes"] == ["add tag auto"]
    assert "public reply" in applied.data["skipped"][0]


def test_notify_mails_the_team_once(
    admin_user, agent, other_agent, acme_customer, run_after_commit, mailoutbox
):
    team = TeamFactory(slug="sdk")
    team.members.add(agent, other_agent)
    make_rule(admin_user, actions=[act("notify", "team:sdk")])

    ticket = run_after_commit(lambda: make_ticket(acme_customer, subject="SDK crash"))

    rule_mail = [m for m in mailoutbox if "Rule" in m.subject]
    assert len(rule_mail) == 1
    assert sorted(rule_mail[0].to) == sorted([agent.email, other_agent.email])
    assert ticket.reference in rule_mail[0].subject


def test_escalation_by_rule_keeps_the_owner_and_waits_on_engineering(
    admin_user, agent, engineering, acme_customer, run_after_commit
):
    make_rule(
        admin_user,
        conditions=[cond("text", "contains", "segfault")],
        actions=[act("escalate", {"team": engineering.slug, "note": "Crash"})],
    )

    ticket = run_after_commit(
        lambda: make_ticket(acme_customer, subject="segfault in the SDK", owner=agent)
    )

    ticket.refresh_from_db()
    assert ticket.escalated_team == engineering
    assert ticket.owner == agent
    assert ticket.status == Ticket.Status.PENDING_ENGINEERING


def test_history_names_the_rule(admin_user, acme_customer, run_after_commit):
    from devdesk.tickets.history import ticket_history

    make_rule(admin_user, name="Tag all", actions=[act("add_tag", "seen")])
    ticket = run_after_commit(lambda: make_ticket(acme_customer))

    lines = [row["text"] for row in ticket_history(ticket)]

    assert any("added tag seen (rule “Tag all”)" in line for line in lines)
    assert any(line.startswith("Rule “Tag all” applied") for line in lines)


def test_a_customer_who_is_not_staff_is_refused_as_rule_target(admin_user):
    customer = UserFactory(role=User.Role.CUSTOMER)
    from devdesk.triage.rules.registry import RuleError

    with pytest.raises(RuleError):
        make_rule(admin_user, actions=[act("assign_person", customer.email)])


def test_adding_and_removing_different_tags_in_one_rule_keeps_both_changes(
    admin_user, acme_customer, run_after_commit
):
    make_rule(
        admin_user,
        actions=[act("add_tag", "triaged"), act("remove_tag", "untriaged")],
    )

    new = NewTicket(
        requester=acme_customer, subject="Hi", body="Hello", tags=["untriaged"]
    )
    ticket = run_after_commit(lambda: open_ticket(new, acting_user=None))

    assert list(ticket.tags.values_list("name", flat=True)) == ["triaged"]


def test_previous_status_tells_which_change_happened(
    admin_user, agent, acme_customer, run_after_commit
):
    make_rule(
        admin_user,
        trigger=Rule.Trigger.STATUS_CHANGED,
        conditions=[
            cond("previous_status", "is", "pending_customer"),
            cond("status", "is", "open"),
        ],
        actions=[act("add_tag", "customer-came-back")],
    )
    ticket = make_ticket(acme_customer)
    add_message(ticket, author=agent, body="Which version?")
    change_status(ticket, "pending_customer", acting_user=agent)
    assert not ticket.tags.exists()

    run_after_commit(
        lambda: add_message(ticket, author=acme_customer, body="Version 2.1")
    )

    assert list(ticket.tags.values_list("name", flat=True)) == ["customer-came-back"]


def test_a_notification_task_run_twice_mails_once(
    admin_user, acme_customer, mailoutbox
):
    from devdesk.triage.tasks_rules import send_rule_notification

    make_rule(admin_user, actions=[act("notify", admin_user.email)])
    ticket = make_ticket(acme_customer)
    evaluate_event(TicketEvent.objects.get(ticket=ticket, kind="created"))
    firing = RuleFiring.objects.get()

    sent = [send_rule_notification.call(firing.pk, [admin_user.email]) for _ in "ab"]

    assert sent == [1, 0]
    assert len(mailoutbox) == 1


def test_evaluating_many_rules_reads_the_ticket_once(
    admin_user, acme_customer, django_assert_max_num_queries
):
    for n in range(50):
        make_rule(
            admin_user,
            trigger=Rule.Trigger.MESSAGE_ADDED,
            conditions=[
                cond("priority", "in", "low, normal"),
                cond("text", "contains", f"phrase{n}"),
                cond("tag", "has_none", "vip"),
            ],
            actions=[act("add_tag", f"t{n}")],
        )
    ticket = make_ticket(acme_customer)
    first, second = (
        add_message(ticket, author=acme_customer, body=text) for text in ("a", "b")
    )
    events = TicketEvent.objects.filter(kind=TicketEvent.Kind.MESSAGE_ADDED)
    evaluate_event(events.get(data__message_id=first.pk))  # compiles the rules
    event = events.get(data__message_id=second.pk)

    # the version, the ticket, the message: nothing per rule
    with django_assert_max_num_queries(3):
        fired = evaluate_event(event)

    assert fired == []
