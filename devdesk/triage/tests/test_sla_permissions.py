"""Who may see and change SLA settings, reports and a ticket's SLA: a matrix over
personas, for the desk pages and the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devdesk.triage.models import SlaPolicy
from devdesk.triage.sla import run_sla_pass, start_sla
from devdesk.triage.tests.factories_sla import make_calendar, make_policy

pytestmark = pytest.mark.django_db

PERSONAS = [
    "admin_user",
    "agent",
    "engineer",
    "partner_agent",
    "acme_customer",
    "globex_customer",
    None,
]


@pytest.fixture
def policy(db):  # type: ignore[no-untyped-def]
    return make_policy(calendar=make_calendar())


def _persona(request, name):  # type: ignore[no-untyped-def]
    return request.getfixturevalue(name) if name else None


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("admin_user", 200),
        ("agent", 200),
        ("engineer", 404),
        ("partner_agent", 404),
        ("acme_customer", 404),
        ("globex_customer", 404),
        (None, 302),
    ],
)
@pytest.mark.parametrize("url", ["/desk/sla/", "/desk/sla/report/"])
def test_sla_pages_are_for_desk_staff(request, login, policy, persona, expected, url):
    client = login(_persona(request, persona))
    assert client.get(url).status_code == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("admin_user", 200),
        ("agent", 404),
        ("engineer", 404),
        ("acme_customer", 404),
        (None, 302),
    ],
)
@pytest.mark.parametrize(
    "url", ["/desk/sla/policies/new/", "/desk/sla/calendars/new/", "policy-edit"]
)
def test_only_admins_open_the_edit_pages(
    request, login, policy, persona, expected, url
):
    if url == "policy-edit":
        url = f"/desk/sla/policies/{policy.pk}/"
    client = login(_persona(request, persona))
    assert client.get(url).status_code == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("admin_user", 200),
        ("agent", 200),
        ("engineer", 403),
        ("partner_agent", 403),
        ("acme_customer", 403),
        ("globex_customer", 403),
        (None, 401),
    ],
)
@pytest.mark.parametrize(
    "path", ["/api/sla/policies", "/api/sla/calendars", "/api/sla/breaches"]
)
def test_sla_api_reads_are_for_desk_staff(
    request, api, policy, persona, expected, path
):
    response = api("GET", path, as_=_persona(request, persona))
    assert response.status_code == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("admin_user", 201), ("agent", 403), ("acme_customer", 403), (None, 401)],
)
def test_only_admins_create_policies_by_api(request, api, policy, persona, expected):
    body = {"name": "Gold", "plan": "gold", "first_response_minutes": 30}
    response = api(
        "POST", "/api/sla/policies", as_=_persona(request, persona), json=body
    )
    assert response.status_code == expected
    assert SlaPolicy.objects.filter(name="Gold").exists() == (expected == 201)


def test_customers_never_get_a_tickets_sla(api, agent, acme_customer, policy):
    from devdesk.tickets.tests.factories import make_ticket

    ticket = make_ticket(acme_customer)
    start_sla(ticket, now=ticket.created_at)
    path = f"/api/tickets/{ticket.number}"
    assert api("GET", path, as_=acme_customer).json()["sla"] is None
    staff = api("GET", path, as_=agent).json()["sla"]
    assert staff["policy"] == "Default"
    assert {t["target"] for t in staff["targets"]} == {"first_response", "resolution"}
    listed = api("GET", "/api/tickets", as_=acme_customer).json()["items"]
    assert [item["sla"] for item in listed] == [None]


def test_customers_do_not_see_sla_events(api, agent, acme_customer, policy):
    from devdesk.tickets.tests.factories import make_ticket

    ticket = make_ticket(acme_customer)
    start_sla(ticket, now=ticket.created_at)
    run_sla_pass(now=datetime.now(UTC) + timedelta(days=30))
    path = f"/api/tickets/{ticket.number}/events"
    customer_kinds = {
        e["kind"] for e in api("GET", path, as_=acme_customer).json()["items"]
    }
    staff_kinds = {e["kind"] for e in api("GET", path, as_=agent).json()["items"]}
    assert "sla_breached" in staff_kinds
    assert not {k for k in customer_kinds if k.startswith("sla_")}
