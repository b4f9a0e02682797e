"""A rule is checked before it is saved: what is wrong is said, nothing is saved."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devdesk.tickets.tests.factories import MacroFactory, ProductFactory
from devdesk.triage.models import Rule
from devdesk.triage.rules.registry import RuleError
from devdesk.triage.rules.services import create_rule, update_rule
from devdesk.triage.rules.spec import check_rule
from devdesk.triage.tests.rules_helpers import act, cond, make_rule

pytestmark = pytest.mark.django_db


def refused(
    conditions: list[dict[str, Any]],
    actions: list[dict[str, Any]],
    trigger: str = "ticket_created",
) -> RuleError:
    with pytest.raises(RuleError) as caught:
        check_rule(trigger=trigger, match="all", conditions=conditions, actions=actions)
    return caught.value


TAG = [act("add_tag", "x")]


@pytest.mark.parametrize(
    ("conditions", "actions", "code", "words"),
    [
        (
            [cond("colour", "is", "red")],
            TAG,
            "unknown_condition",
            "unknown condition 'colour'",
        ),
        (
            [cond("priority", "about", 3)],
            TAG,
            "invalid_operator",
            "priority takes the operators",
        ),
        (
            [cond("priority", "is", "super")],
            TAG,
            "invalid_value",
            "unknown priority 'super'",
        ),
        (
            [cond("status", "in", "open, nearly")],
            TAG,
            "invalid_value",
            "unknown status 'nearly'",
        ),
        (
            [cond("product", "is", "no-such")],
            TAG,
            "invalid_value",
            "no product 'no-such'",
        ),
        (
            [cond("hours_in_status", "gte", "soon")],
            TAG,
            "invalid_value",
            "'soon' is not a number",
        ),
        ([cond("hours_in_status", "gte", -1)], TAG, "invalid_value", "from 0 to"),
        ([cond("priority", "is", None)], TAG, "invalid_value", "needs a value"),
        (
            [{"type": "priority", "op": "is", "value": 3, "colour": 1}],
            TAG,
            "invalid_rule",
            "unknown field 'colour'",
        ),
        (["priority is 3"], TAG, "invalid_rule", "give an object"),
        ([], [act("fly", "high")], "unknown_action", "unknown action 'fly'"),
        ([], [act("set_priority", "extreme")], "invalid_value", "unknown priority"),
        ([], [act("assign_team", "nobody")], "invalid_value", "no team 'nobody'"),
        ([], [act("send_macro", "Missing macro")], "invalid_value", "no active macro"),
        ([], [act("add_tag", "bad tag!")], "invalid_value", "letters, digits"),
        ([], [], "actions_required", "at least one action"),
        (
            [],
            [act("set_status", "solved"), act("set_status", "open")],
            "contradictory_actions",
            "status cannot be both solved and open",
        ),
        (
            [],
            [act("add_tag", "vip, billing"), act("remove_tag", "billing")],
            "contradictory_actions",
            "tag billing cannot be both add and remove",
        ),
    ],
)
def test_a_wrong_rule_is_refused_with_what_to_fix(conditions, actions, code, words):
    error = refused(conditions, actions)

    assert error.code == code
    assert words in error.message
    assert error.status == 400


def test_a_macro_that_sets_another_status_contradicts_set_status():
    MacroFactory(name="Solve it", set_status="solved")

    error = refused([], [act("send_macro", "Solve it"), act("set_status", "open")])

    assert error.code == "contradictory_actions"


def test_a_time_based_rule_needs_a_time_condition():
    error = refused([cond("status", "is", "pending_customer")], TAG, "time_based")

    assert error.code == "time_condition_required"


def test_message_conditions_only_fit_rules_on_messages():
    error = refused([cond("message_kind", "is", "public")], TAG, "status_changed")

    assert error.code == "condition_not_for_trigger"


def test_a_rule_whose_action_causes_its_own_trigger_is_saved_with_an_explanation():
    checked = check_rule(
        trigger="status_changed",
        match="all",
        conditions=[cond("status", "is", "open")],
        actions=[act("set_status", "pending_customer")],
    )

    assert "never evaluated again" in checked.notes[0]


def test_values_are_stored_in_one_spelling():
    ProductFactory(slug="python-sdk")
    checked = check_rule(
        trigger="ticket_created",
        match="all",
        conditions=[
            cond("priority", ">=", "High"),
            cond("product", "in", "python-sdk"),
            cond("text", "contains", "Production Down, OUTAGE"),
        ],
        actions=[act("set_status", "Pending customer"), act("add_tag", "Prod Down")],
    )

    assert checked.conditions == [
        {"type": "priority", "op": "gte", "value": 3},
        {"type": "product", "op": "in", "value": ["python-sdk"]},
        {"type": "text", "op": "contains", "value": ["production down", "outage"]},
    ]
    assert checked.actions == [
        {"type": "set_status", "value": "pending_customer"},
        {"type": "add_tag", "value": ["prod-down"]},
    ]


def test_refused_saves_change_nothing(admin_user):
    rule = make_rule(admin_user, name="Keep", actions=TAG)

    with pytest.raises(RuleError):
        update_rule(
            rule,
            acting_user=admin_user,
            name="Changed",
            actions=[act("set_status", "solved"), act("set_status", "open")],
        )

    rule.refresh_from_db()
    assert (rule.name, rule.actions) == ("Keep", [{"type": "add_tag", "value": ["x"]}])


def test_only_admins_change_rules(agent):
    with pytest.raises(RuleError) as caught:
        create_rule(acting_user=agent, name="x", trigger="ticket_created", actions=TAG)

    assert caught.value.status == 403
    assert not Rule.objects.exists()


def test_two_rules_cannot_share_a_name(admin_user):
    make_rule(admin_user, name="Billing", actions=TAG)

    with pytest.raises(RuleError) as caught:
        make_rule(admin_user, name="billing", actions=TAG)

    assert caught.value.status == 409


junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.lists(st.text(max_size=8), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
items = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(
            [
                "priority",
                "status",
                "tag",
                "text",
                "hours_in_status",
                "set_status",
                "add_tag",
                "notify",
                "escalate",
                "x",
            ]
        ),
        "op": st.sampled_from(["is", "in", "gte", "contains", "has_any", "?", ">="]),
        "value": junk,
    },
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    trigger=st.sampled_from([*Rule.Trigger.values, "never"]),
    conditions=st.lists(st.one_of(items, junk), max_size=3),
    actions=st.lists(st.one_of(items, junk), max_size=3),
)
def test_any_input_is_either_a_valid_rule_or_a_clear_refusal(
    trigger, conditions, actions
):
    refusal: RuleError | None = None
    try:
        checked = check_rule(
            trigger=trigger, match="all", conditions=conditions, actions=actions
        )
    except RuleError as error:
        refusal = error
    if refusal is not None:
        assert refusal.status == 400
        assert refusal.message
    else:
        # what passed the check is accepted again unchanged (it is what is stored)
        again = check_rule(
            trigger=trigger,
            match="all",
            conditions=checked.conditions,
            actions=checked.actions,
        )
        assert (again.conditions, again.actions) == (
            checked.conditions,
            checked.actions,
        )
