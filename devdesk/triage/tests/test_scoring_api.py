"""Impact, effort, duplicates, the scoring policy, routing and waiting customers
through the API, with the permission matrix: customers never see scores, effort,
routing or skills, and set severity only on their own organization's tickets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from devdesk.accounts.tests.factories import TeamFactory
from devdesk.tickets.models import Ticket
from devdesk.tickets.tests.factories import make_ticket
from devdesk.triage.models import RoutingRule, Skill

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme_ticket(acme_customer) -> Ticket:  # type: ignore[no-untyped-def]
    return make_ticket(acme_customer, subject="Acme webhooks")


PERSONAS = ["admin_user", "agent", "acme_customer", "globex_customer", None]


def _as(request, persona):  # type: ignore[no-untyped-def]
    return request.getfixturevalue(persona) if persona else None


@pytest.mark.parametrize(
    ("persona", "status", "sees_score"),
    [
        ("admin_user", 200, True),
        ("agent", 200, True),
        ("acme_customer", 200, False),
        ("globex_customer", 404, False),
        (None, 401, False),
    ],
)
def test_reading_estimates(request, api, acme_ticket, persona, status, sees_score):
    response = api(
        "GET", f"/api/tickets/{acme_ticket.number}/estimates", as_=_as(request, persona)
    )

    assert response.status_code == status
    if status == 200:
        body = response.json()
        assert body["severity"] == "normal"
        assert (body["score"] is not None) is sees_score
        assert (body["effort_used_hours"] is not None) is sees_score


@pytest.mark.parametrize(
    ("persona", "payload", "status"),
    [
        ("agent", {"severity": "high", "effort_hours": 3}, 200),
        ("admin_user", {"affected_count": 12}, 200),
        ("acme_customer", {"severity": "critical", "production_down": True}, 200),
        ("acme_customer", {"effort_hours": 1}, 403),
        ("acme_customer", {"affected_count": 9}, 403),
        ("globex_customer", {"severity": "critical"}, 404),
        (None, {"severity": "critical"}, 401),
    ],
)
def test_changing_estimates(request, api, acme_ticket, persona, payload, status):
    response = api(
        "PATCH",
        f"/api/tickets/{acme_ticket.number}/estimates",
        as_=_as(request, persona),
        json=payload,
    )

    assert response.status_code == status, response.json()
    acme_ticket.refresh_from_db()
    changed = acme_ticket.severity != "normal" or acme_ticket.affected_count != 1
    assert changed is (status == 200)


@pytest.mark.parametrize(
    "payload",
    [
        {"severity": "apocalyptic"},
        {"affected_count": 0},
        {"effort_hours": -2},
        {"effort_hours": "lots"},
        {"severity": None},
        {"colour": "red"},
        {},
    ],
)
def test_bad_estimates_get_a_clear_4xx(api, agent, acme_ticket, payload):
    response = api(
        "PATCH",
        f"/api/tickets/{acme_ticket.number}/estimates",
        as_=agent,
        json=payload,
    )

    assert response.status_code in {400, 422}
    assert response.json()["message"]


def test_customers_never_see_the_score_in_ticket_lists(api, acme_customer, acme_ticket):
    response = api("GET", "/api/tickets", as_=acme_customer)

    [item] = response.json()["items"]
    assert item["score"] is None
    assert item["effort_hours"] is None
    assert item["severity"] == "normal"


def test_customers_may_not_sort_by_score(api, acme_customer, acme_ticket):
    response = api("GET", "/api/tickets", as_=acme_customer, params={"sort": "-score"})

    assert response.status_code == 422


def test_agents_list_by_score_highest_first(api, agent, acme_customer):
    low = make_ticket(acme_customer, subject="low", score=1.0)
    high = make_ticket(acme_customer, subject="high", score=9.5)

    response = api("GET", "/api/tickets", as_=agent, params={"sort": "-score"})

    numbers = [i["number"] for i in response.json()["items"]]
    assert numbers == [high.number, low.number]


def test_customer_opens_a_ticket_with_severity_and_production_down(api, acme_customer):
    response = api(
        "POST",
        "/api/tickets",
        as_=acme_customer,
        json={
            "subject": "All payments fail",
            "body": "500s since noon",
            "severity": "critical",
            "production_down": True,
        },
    )

    assert response.status_code == 201
    ticket = Ticket.objects.get(number=response.json()["number"])
    assert (ticket.severity, ticket.is_production_down) == ("critical", True)
    assert ticket.score > 0


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("agent", 200),
        ("acme_customer", 404),
        ("globex_customer", 404),
        (None, 401),
    ],
)
def test_marking_a_duplicate(request, api, acme_customer, persona, status):
    original = make_ticket(acme_customer)
    duplicate = make_ticket(acme_customer)

    response = api(
        "POST",
        f"/api/tickets/{duplicate.number}/duplicate-of",
        as_=_as(request, persona),
        json={"original": original.number},
    )

    assert response.status_code == status
    original.refresh_from_db()
    assert original.affected_count == (2 if status == 200 else 1)
    if status == 200:
        assert response.json()["duplicate_of"] == original.number


def test_a_duplicate_of_an_unknown_ticket_is_refused(api, agent, acme_ticket):
    response = api(
        "POST",
        f"/api/tickets/{acme_ticket.number}/duplicate-of",
        as_=agent,
        json={"original": 999999},
    )

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_original"


def test_unlinking_a_duplicate(api, agent, acme_customer):
    original, duplicate = make_ticket(acme_customer), make_ticket(acme_customer)
    api(
        "POST",
        f"/api/tickets/{duplicate.number}/duplicate-of",
        as_=agent,
        json={"original": original.number},
    )

    response = api("DELETE", f"/api/tickets/{duplicate.number}/duplicate-of", as_=agent)

    assert response.status_code == 200
    assert response.json()["duplicate_of"] is None


@pytest.mark.parametrize(
    ("persona", "read", "write"),
    [
        ("admin_user", 200, 200),
        ("agent", 200, 403),
        ("acme_customer", 404, 404),
        (None, 401, 401),
    ],
)
def test_scoring_policy_permissions(request, api, persona, read, write):
    user = _as(request, persona)

    got = api("GET", "/api/triage/scoring-policy", as_=user)
    changed = api(
        "PATCH",
        "/api/triage/scoring-policy",
        as_=user,
        json={"formula": "affected * 2"},
    )

    assert (got.status_code, changed.status_code) == (read, write)


def test_a_bad_formula_is_refused_with_its_reason(api, admin_user):
    response = api(
        "PATCH",
        "/api/triage/scoring-policy",
        as_=admin_user,
        json={"formula": "affected / (effort - effort)"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_formula"
    assert "divides by zero" in response.json()["message"]


def test_saving_the_policy_rescores(api, admin_user, acme_ticket):
    response = api(
        "PATCH",
        "/api/triage/scoring-policy",
        as_=admin_user,
        json={"formula": "100 * severity_weight", "severity_weights": {"normal": 2}},
    )

    assert response.status_code == 200
    assert response.json()["rescored"] == 1
    acme_ticket.refresh_from_db()
    assert acme_ticket.score == 200


@pytest.mark.parametrize(
    ("persona", "read", "write"),
    [
        ("admin_user", 200, 201),
        ("agent", 200, 403),
        ("acme_customer", 404, 404),
        ("globex_customer", 404, 404),
        (None, 401, 401),
    ],
)
def test_routing_rules_permissions(request, api, persona, read, write):
    team = TeamFactory(name="Support", slug="support")
    user = _as(request, persona)

    got = api("GET", "/api/triage/routing-rules", as_=user)
    made = api(
        "POST",
        "/api/triage/routing-rules",
        as_=user,
        json={"name": "German", "languages": ["de"], "team": team.pk},
    )

    assert (got.status_code, made.status_code) == (read, write)
    assert RoutingRule.objects.exists() is (write == 201)


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"name": "x", "team": 999999}, "invalid_team"),
        ({"name": "x", "team": "TEAM", "products": [999999]}, "invalid_products"),
        ({"name": "", "team": "TEAM"}, "invalid_input"),
        ({"name": "x", "team": "TEAM", "languages": ["german!"]}, "invalid_input"),
    ],
)
def test_bad_routing_rules_are_refused(api, admin_user, payload, code):
    team = TeamFactory(name="Support", slug="support")
    payload = {k: team.pk if v == "TEAM" else v for k, v in payload.items()}

    response = api("POST", "/api/triage/routing-rules", as_=admin_user, json=payload)

    assert response.status_code in {400, 422}
    assert response.json()["code"] == code
    assert not RoutingRule.objects.exists()


def test_admin_sets_default_team_and_team_methods(api, admin_user):
    team = TeamFactory(name="Support", slug="support")

    response = api(
        "PATCH",
        "/api/triage/routing",
        as_=admin_user,
        json={"default_team": team.pk, "teams": {str(team.pk): "least_open"}},
    )

    assert response.status_code == 200
    assert response.json() == {
        "default_team": team.pk,
        "teams": {str(team.pk): "least_open"},
    }


@pytest.mark.parametrize(
    ("persona", "status"),
    [("admin_user", 200), ("agent", 403), ("acme_customer", 404), (None, 401)],
)
def test_giving_people_skills(request, api, agent, persona, status):
    skill = Skill.objects.create(name="go")

    response = api(
        "PUT",
        f"/api/triage/skills/{skill.pk}/people",
        as_=_as(request, persona),
        json={"people": [agent.pk]},
    )

    assert response.status_code == status
    assert skill.agents.filter(user=agent).exists() is (status == 200)


def test_customers_cannot_be_given_skills(api, admin_user, acme_customer):
    skill = Skill.objects.create(name="go")

    response = api(
        "PUT",
        f"/api/triage/skills/{skill.pk}/people",
        as_=admin_user,
        json={"people": [acme_customer.pk]},
    )

    assert response.status_code == 422
    assert "customer" in response.json()["message"]


@pytest.mark.parametrize(
    ("persona", "status"),
    [("agent", 200), ("acme_customer", 404), ("globex_customer", 404), (None, 401)],
)
def test_waiting_list(request, api, acme_customer, persona, status):
    waiting = make_ticket(
        acme_customer,
        last_customer_message_at=timezone.now() - timedelta(hours=30),
    )

    response = api("GET", "/api/triage/waiting", as_=_as(request, persona))

    assert response.status_code == status
    if status == 200:
        assert [i["number"] for i in response.json()["items"]] == [waiting.number]
        assert response.json()["items"][0]["waiting_hours"] == 30
