"""The rest of the permission matrix for triage's pages and endpoints: who may
route, unlink, change routing and skills. Customers never see any of it (404)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from devdesk.accounts.tests.factories import TeamFactory
from devdesk.tickets.models import Ticket
from devdesk.tickets.tests.factories import make_ticket
from devdesk.triage import scoring
from devdesk.triage.models import RoutingPolicy, RoutingRule, Skill

pytestmark = pytest.mark.django_db

PERSONAS = ("admin_user", "agent", "engineer", "acme_customer", "globex_customer", None)


def _as(request, persona):  # type: ignore[no-untyped-def]
    return request.getfixturevalue(persona) if persona else None


@pytest.fixture
def setup(agent, acme_customer):  # type: ignore[no-untyped-def]
    team = TeamFactory(name="Support", slug="support")
    team.members.add(agent)
    RoutingPolicy.objects.create(pk=1, default_team=team)
    original = make_ticket(acme_customer, subject="original")
    duplicate = make_ticket(acme_customer, subject="duplicate")
    scoring.mark_duplicate(duplicate, original, acting_user=agent)
    rule = RoutingRule.objects.create(name="All", team=team)
    skill = Skill.objects.create(name="go")
    return {"team": team, "duplicate": duplicate, "rule": rule, "skill": skill}


ADMIN_WRITE = {"admin_user": 302, "agent": 403, "engineer": 404}
CUSTOMERS_AND_ANONYMOUS = {"acme_customer": 404, "globex_customer": 404, None: 302}


@pytest.mark.parametrize("persona", PERSONAS)
def test_routing_settings_page(request, login, setup, persona):
    team = setup["team"]

    response = login(_as(request, persona)).post(
        reverse("triage:routing-save"),
        {"default_team": "", f"team_{team.pk}": "on_shift"},
    )

    expected = {**ADMIN_WRITE, **CUSTOMERS_AND_ANONYMOUS}[persona]
    assert response.status_code == expected
    changed = RoutingPolicy.objects.get(pk=1).default_team is None
    assert changed is (expected == 302 and persona is not None)


@pytest.mark.parametrize("persona", PERSONAS)
def test_skill_page(request, login, setup, agent, persona):
    response = login(_as(request, persona)).post(
        reverse("triage:skill-save"), {"name": "rust", "people": [agent.pk]}
    )

    expected = {**ADMIN_WRITE, **CUSTOMERS_AND_ANONYMOUS}[persona]
    assert response.status_code == expected
    assert Skill.objects.filter(name="rust").exists() is (persona == "admin_user")


@pytest.mark.parametrize("persona", PERSONAS)
def test_rule_delete_page(request, login, setup, persona):
    response = login(_as(request, persona)).post(
        reverse("triage:rule-delete", args=[setup["rule"].pk])
    )

    expected = {**ADMIN_WRITE, **CUSTOMERS_AND_ANONYMOUS}[persona]
    assert response.status_code == expected
    assert RoutingRule.objects.exists() is (persona != "admin_user")


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("admin_user", 302),
        ("agent", 302),
        ("engineer", 404),
        ("acme_customer", 404),
        ("globex_customer", 404),
        (None, 302),
    ],
)
def test_unlink_and_route_pages(request, login, setup, persona, status):
    duplicate: Ticket = setup["duplicate"]
    client = login(_as(request, persona))

    unlinked = client.post(reverse("triage:ticket-unlink", args=[duplicate.number]))
    routed = client.post(reverse("triage:ticket-route", args=[duplicate.number]))

    assert (unlinked.status_code, routed.status_code) == (status, status)
    duplicate.refresh_from_db()
    desk = persona in {"admin_user", "agent"}
    assert hasattr(duplicate, "duplicate_link") is not desk
    assert (duplicate.team == setup["team"]) is desk


@pytest.mark.parametrize(
    ("persona", "read", "write"),
    [
        ("admin_user", 200, 200),
        ("agent", 200, 403),
        ("engineer", 404, 404),
        ("acme_customer", 404, 404),
        (None, 401, 401),
    ],
)
def test_routing_and_skills_endpoints(request, api, setup, persona, read, write):
    user = _as(request, persona)
    team = setup["team"]

    reads = [
        api("GET", "/api/triage/routing", as_=user).status_code,
        api("GET", "/api/triage/skills", as_=user).status_code,
    ]
    writes = [
        api(
            "PATCH",
            "/api/triage/routing",
            as_=user,
            json={"teams": {str(team.pk): "round_robin"}},
        ).status_code,
        api(
            "PUT",
            f"/api/triage/routing-rules/{setup['rule'].pk}",
            as_=user,
            json={"name": "Renamed", "team": team.pk},
        ).status_code,
    ]

    assert reads == [read, read]
    assert writes == [write, write]
    assert RoutingRule.objects.get().name == ("Renamed" if write == 200 else "All")


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("admin_user", 200),
        ("agent", 200),
        ("engineer", 404),
        ("acme_customer", 404),
        ("globex_customer", 404),
        (None, 401),
    ],
)
def test_route_and_unlink_endpoints(request, api, setup, persona, status):
    duplicate: Ticket = setup["duplicate"]
    user = _as(request, persona)

    routed = api("POST", f"/api/tickets/{duplicate.number}/route", as_=user)
    unlinked = api("DELETE", f"/api/tickets/{duplicate.number}/duplicate-of", as_=user)

    assert (routed.status_code, unlinked.status_code) == (status, status)
    if status == 200:
        assert routed.json()["team"] == setup["team"].pk
