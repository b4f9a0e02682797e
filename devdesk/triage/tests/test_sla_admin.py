"""Admins edit SLA policies and calendars in the desk and the API; bad input is a
clear 4xx and changes nothing; the breach report counts breaches per week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devdesk.tickets.tests.factories import make_ticket
from devdesk.triage.models import BusinessCalendar, SlaPolicy
from devdesk.triage.sla import run_sla_pass, start_sla
from devdesk.triage.sla.report import breach_counts
from devdesk.triage.tests.factories_sla import OFFICE_HOURS, make_calendar, make_policy

pytestmark = pytest.mark.django_db


def test_an_admin_creates_a_policy_in_the_desk(login, admin_user):
    client = login(admin_user)
    response = client.post(
        "/desk/sla/policies/new/",
        {
            "name": "Gold urgent",
            "plan": "gold",
            "priority": "4",
            "first_response_minutes": "30",
            "warning_percent": "80",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    policy = SlaPolicy.objects.get(name="Gold urgent")
    assert (policy.plan, policy.priority, policy.first_response_minutes) == (
        "gold",
        4,
        30,
    )


def test_a_policy_without_targets_is_refused_on_the_page(login, admin_user):
    client = login(admin_user)
    response = client.post(
        "/desk/sla/policies/new/", {"name": "Empty", "warning_percent": "80"}
    )
    assert response.status_code == 400
    assert "Set at least one target" in response.content.decode()
    assert not SlaPolicy.objects.exists()


def test_an_admin_creates_a_calendar_in_the_desk(login, admin_user):
    client = login(admin_user)
    hours = {f"hours_{day}": value for day, value in OFFICE_HOURS.items()}
    response = client.post(
        "/desk/sla/calendars/new/",
        {
            "name": "NYC",
            "time_zone": "America/New_York",
            "holiday_country": "us",
            "closed_days": "2025-12-24\n2025-12-31",
            **hours,
        },
    )
    assert response.status_code == 302
    calendar = BusinessCalendar.objects.get(name="NYC")
    assert calendar.holiday_country == "US"
    assert calendar.closed_days == ["2025-12-24", "2025-12-31"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("time_zone", "Mars/Base", "IANA"),
        ("hours_mon", "17:00-09:00", "ends before it starts"),
        ("holiday_country", "XX", "No public holidays"),
        ("closed_days", "24.12.2025", "not a date"),
    ],
)
def test_bad_calendar_input_is_refused_with_the_reason(
    login, admin_user, field, value, message
):
    client = login(admin_user)
    hours = {f"hours_{day}": v for day, v in OFFICE_HOURS.items()}
    data = {"name": "Bad", "time_zone": "UTC", **hours, field: value}
    response = client.post("/desk/sla/calendars/new/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not BusinessCalendar.objects.exists()


def test_api_refuses_a_second_policy_for_the_same_plan_and_priority(api, admin_user):
    body = {"name": "A", "plan": "gold", "priority": 3, "resolution_minutes": 600}
    assert (
        api("POST", "/api/sla/policies", as_=admin_user, json=body).status_code == 201
    )
    clash = api("POST", "/api/sla/policies", as_=admin_user, json={**body, "name": "B"})
    assert clash.status_code == 409
    assert clash.json()["code"] == "policy_exists"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "X", "first_response_minutes": 0},
        {"name": "X", "first_response_minutes": 30, "warning_percent": 100},
        {"name": "X", "first_response_minutes": 30, "priority": 9},
        {"name": "X", "first_response_minutes": 30, "unknown": 1},
        {"name": "X"},
    ],
)
def test_api_refuses_bad_policies_with_a_4xx(api, admin_user, body):
    response = api("POST", "/api/sla/policies", as_=admin_user, json=body)
    assert 400 <= response.status_code < 500
    assert {"code", "message"} <= response.json().keys()
    assert not SlaPolicy.objects.exists()


def test_api_patch_changes_only_the_fields_sent(api, admin_user):
    policy = make_policy()
    response = api(
        "PATCH",
        f"/api/sla/policies/{policy.pk}",
        as_=admin_user,
        json={"resolution_minutes": 99},
    )
    assert response.status_code == 200
    policy.refresh_from_db()
    assert (policy.resolution_minutes, policy.first_response_minutes) == (99, 60)


def test_a_policy_in_use_cannot_be_deleted(api, admin_user, acme_customer):
    policy = make_policy()
    start_sla(make_ticket(acme_customer))
    response = api("DELETE", f"/api/sla/policies/{policy.pk}", as_=admin_user)
    assert response.status_code == 409
    assert SlaPolicy.objects.filter(pk=policy.pk).exists()


def test_an_agent_sets_a_tickets_policy_by_api(api, agent, acme_customer):
    make_policy()
    gold = make_policy(name="Gold", plan="gold", first_response_minutes=15)
    ticket = make_ticket(acme_customer)
    start_sla(ticket)
    response = api(
        "PUT",
        f"/api/tickets/{ticket.number}/sla/policy",
        as_=agent,
        json={"policy": gold.pk, "reason": "VIP"},
    )
    assert response.status_code == 200
    assert response.json()["policy"] == "Gold"
    missing = api(
        "PUT",
        f"/api/tickets/{ticket.number}/sla/policy",
        as_=agent,
        json={"policy": 999},
    )
    assert missing.status_code == 422


def test_the_breach_report_counts_per_policy_target_and_week(
    login, agent, acme_customer
):
    make_calendar()
    make_policy()
    now = datetime(2024, 6, 5, 12, 0, tzinfo=UTC)
    for _ in range(3):
        ticket = make_ticket(acme_customer, created_at=now - timedelta(days=2))
        start_sla(ticket, now=now)
    run_sla_pass(now=now)
    rows = breach_counts(since=now - timedelta(days=30), until=now + timedelta(days=1))
    assert [(r.week.isoformat(), r.policy, r.target, r.breaches) for r in rows] == [
        ("2024-06-03", "Default", "first_response", 3),
        ("2024-06-03", "Default", "resolution", 3),
    ]
    page = login(agent).get("/desk/sla/report/?weeks=104")
    assert page.status_code == 200
