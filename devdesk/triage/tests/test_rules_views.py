"""The desk's rule pages: who reaches them, and what the form does."""

from __future__ import annotations

import pytest
from django.urls import reverse

from devdesk.tickets.models import Ticket, TicketEvent
from devdesk.tickets.tests.factories import make_ticket
from devdesk.triage.models import Rule, RuleFiring
from devdesk.triage.tests.rules_helpers import act, cond, make_rule

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Production down",
    "trigger": "ticket_created",
    "match": "all",
    "conditions": "text contains production down, outage\npriority <= high",
    "actions": "set_priority urgent\nadd_tag prod-down",
    "is_active": "on",
    "last": "20",
}


@pytest.fixture
def rule(admin_user):  # type: ignore[no-untyped-def]
    return make_rule(
        admin_user,
        name="Tag all",
        conditions=[cond("priority", "gte", "normal")],
        actions=[act("add_tag", "seen")],
    )


PAGES = ["rules:rule-list", "rules:rule-detail", "rules:rule-new", "rules:rule-edit"]
POSTS = ["rules:rule-move", "rules:rule-toggle", "rules:rule-delete"]
# persona: status for (reading pages, editing pages and posts)
EXPECTED = {
    "admin_user": (200, 200),
    "agent": (200, 404),
    "engineer": (404, 404),
    "partner_agent": (404, 404),
    "acme_customer": (404, 404),
    "globex_customer": (404, 404),
    None: (302, 302),
}


def _url(name: str, rule: Rule) -> str:
    needs_pk = name not in {"rules:rule-list", "rules:rule-new"}
    return reverse(name, args=[rule.pk] if needs_pk else [])


@pytest.mark.parametrize("persona", list(EXPECTED))
@pytest.mark.parametrize("name", PAGES)
def test_page_matrix(login, request, rule, persona, name):
    client = login(request.getfixturevalue(persona) if persona else None)
    reading, editing = EXPECTED[persona]

    response = client.get(_url(name, rule))

    expected = reading if name in {"rules:rule-list", "rules:rule-detail"} else editing
    assert response.status_code == expected
    if expected != 200:
        assert b"Tag all" not in response.content


@pytest.mark.parametrize("persona", [p for p in EXPECTED if p != "admin_user"])
@pytest.mark.parametrize("name", POSTS)
def test_only_admins_change_rules_from_the_desk(login, request, rule, persona, name):
    client = login(request.getfixturevalue(persona) if persona else None)

    response = client.post(_url(name, rule), {"direction": "up"})

    assert response.status_code == EXPECTED[persona][1]
    assert Rule.objects.filter(pk=rule.pk, is_active=True).exists()


def test_an_admin_creates_a_rule_from_the_form(login, admin_user):
    response = login(admin_user).post(reverse("rules:rule-new"), FORM)

    rule = Rule.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("rules:rule-detail", args=[rule.pk])
    assert rule.conditions[1] == {"type": "priority", "op": "lte", "value": 3}
    assert rule.actions[0] == {"type": "set_priority", "value": 4}


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"conditions": "colour is red"}, "conditions", "unknown condition"),
        ({"conditions": "priority is massive"}, "conditions", "unknown priority"),
        ({"actions": "set_status solved\nset_status open"}, "actions", "contradict"),
        ({"actions": "add_tag a\nremove_tag a"}, "actions", "contradict"),
        ({"actions": ""}, "actions", "at least one action"),
        ({"trigger": "time_based"}, "conditions", "time condition"),
    ],
)
def test_a_bad_rule_is_shown_again_with_the_reason(
    login, admin_user, change, field, words
):
    response = login(admin_user).post(reverse("rules:rule-new"), {**FORM, **change})

    assert response.status_code == 400
    assert words in " ".join(response.context["form"].errors[field])
    assert not Rule.objects.exists()


def test_the_form_shows_a_rule_as_it_was_typed(login, admin_user, rule):
    response = login(admin_user).get(reverse("rules:rule-edit", args=[rule.pk]))

    assert response.context["form"].initial["conditions"] == "priority gte normal"
    assert response.context["form"].initial["actions"] == "add_tag seen"


def test_editing_keeps_the_rule_valid(login, admin_user, rule):
    login(admin_user).post(
        reverse("rules:rule-edit", args=[rule.pk]),
        {**FORM, "name": "Renamed", "actions": "add_tag renamed"},
    )

    rule.refresh_from_db()
    assert (rule.name, rule.actions) == (
        "Renamed",
        [{"type": "add_tag", "value": ["renamed"]}],
    )


def test_moving_and_switching_off(login, admin_user, rule):
    second = make_rule(admin_user, name="Second", actions=[act("add_tag", "b")])
    client = login(admin_user)

    client.post(reverse("rules:rule-move", args=[second.pk]), {"direction": "up"})
    client.post(reverse("rules:rule-toggle", args=[rule.pk]))

    rule.refresh_from_db()
    second.refresh_from_db()
    assert (second.position, rule.position) == (0, 1)
    assert rule.is_active is False


def test_testing_an_unsaved_rule_changes_nothing(
    login, admin_user, acme_customer, mailoutbox
):
    down = make_ticket(acme_customer, subject="Production down for everyone")
    events = TicketEvent.objects.count()

    response = login(admin_user).post(
        reverse("rules:rule-new"),
        {
            **FORM,
            "actions": FORM["actions"] + f"\nnotify {admin_user.email}",
            "preview": "1",
        },
    )

    assert response.status_code == 200
    (row,) = response.context["rows"]
    assert row.matches
    assert "priority Normal → Urgent" in row.would
    assert b"would have done" in response.content
    assert not Rule.objects.exists()
    assert not RuleFiring.objects.exists()
    assert TicketEvent.objects.count() == events
    assert mailoutbox == []
    down.refresh_from_db()
    assert down.priority == Ticket.Priority.NORMAL


def test_an_agent_tests_a_saved_rule_on_the_last_tickets(
    login, agent, rule, acme_customer
):
    for n in range(3):
        make_ticket(acme_customer, subject=f"Question {n}")

    response = login(agent).get(
        reverse("rules:rule-detail", args=[rule.pk]), {"last": 2}
    )

    assert response.status_code == 200
    assert [r.ticket.subject for r in response.context["rows"]] == [
        "Question 2",
        "Question 1",
    ]
    assert all(r.would == ["add tag seen"] for r in response.context["rows"])


def test_a_bad_preview_count_is_a_400(login, agent, rule):
    response = login(agent).get(
        reverse("rules:rule-detail", args=[rule.pk]), {"last": "many"}
    )

    assert response.status_code == 400
