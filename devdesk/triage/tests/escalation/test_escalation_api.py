"""Escalation over the REST API: escalate a ticket, list, read and update
engineering issues, as each persona."""

from __future__ import annotations

from typing import Any

import pytest

from devdesk.accounts.models import Team, User
from devdesk.tickets.models import Ticket
from devdesk.triage.escalation import escalate
from devdesk.triage.models import EngineeringIssue, WebhookEndpoint


def test_an_agent_escalates_through_the_api(
    api: Any, agent: User, other_agent: User, owned_ticket: Ticket, engineering: Team
) -> None:
    response = api(
        "POST",
        f"/api/tickets/{owned_ticket.number}/escalations",
        as_=other_agent,
        json={"team": engineering.pk, "reason": "Retry bug"},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["team"] == engineering.name
    assert body["tickets"] == [owned_ticket.number]
    assert body["status"] == "open"
    owned_ticket.refresh_from_db()
    assert owned_ticket.owner == agent  # unchanged
    assert owned_ticket.status == Ticket.Status.PENDING_ENGINEERING


def test_linking_a_second_ticket_to_a_tracker_issue(
    api: Any,
    agent: User,
    acme_customer: User,
    owned_ticket: Ticket,
    github: WebhookEndpoint,
) -> None:
    from devdesk.tickets.tests.factories import make_ticket

    first = api(
        "POST",
        f"/api/tickets/{owned_ticket.number}/escalations",
        as_=agent,
        json={"endpoint": github.pk, "external_key": "o/r#7", "reason": "Bug"},
    ).json()
    other = make_ticket(acme_customer)
    second = api(
        "POST",
        f"/api/tickets/{other.number}/escalations",
        as_=agent,
        json={"issue": first["id"], "reason": "Same bug"},
    ).json()
    assert second["id"] == first["id"]
    assert second["tickets"] == sorted([owned_ticket.number, other.number])
    assert second["reference"] == "o/r#7"


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({}, 400, "escalation_target_required"),
        ({"team": 99999}, 422, "invalid_input"),
        ({"endpoint": 99999}, 422, "invalid_input"),
        ({"issue": 99999}, 422, "invalid_input"),
        ({"team": "sdk"}, 422, "invalid_input"),
        ({"reason": 5}, 422, "invalid_input"),
        ({"external_key": "o/r#1"}, 400, "tracker_required"),
    ],
)
def test_bad_escalation_requests_are_refused(
    api: Any,
    agent: User,
    owned_ticket: Ticket,
    payload: dict[str, Any],
    status: int,
    code: str,
) -> None:
    response = api(
        "POST",
        f"/api/tickets/{owned_ticket.number}/escalations",
        as_=agent,
        json=payload,
    )
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    assert not EngineeringIssue.objects.exists()


def test_malformed_json_is_refused(api: Any, agent: User, owned_ticket: Ticket) -> None:
    response = api(
        "POST",
        f"/api/tickets/{owned_ticket.number}/escalations",
        as_=agent,
        content=b'{"team": ',
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"


@pytest.fixture
def issue(owned_ticket: Ticket, agent: User, engineering: Team) -> EngineeringIssue:
    return escalate(owned_ticket, acting_user=agent, team=engineering, reason="Bug")


# persona: (list, get, escalate, patch status)
API_MATRIX = {
    "admin_user": (200, 200, 201, 200),
    "agent": (200, 200, 201, 200),
    "engineer": (200, 200, 403, 200),
    "partner_agent": (403, 404, 404, 404),
    "acme_customer": (403, 404, 403, 404),
    "globex_customer": (403, 404, 404, 404),
    "anonymous": (401, 401, 401, 401),
}


@pytest.mark.parametrize("who", list(API_MATRIX))
def test_api_permission_matrix(
    request: Any,
    who: str,
    api: Any,
    issue: EngineeringIssue,
    owned_ticket: Ticket,
    engineering: Team,
) -> None:
    user = None if who == "anonymous" else request.getfixturevalue(who)
    listed = api("GET", "/api/engineering-issues", as_=user)
    got = api("GET", f"/api/engineering-issues/{issue.pk}", as_=user)
    escalated = api(
        "POST",
        f"/api/tickets/{owned_ticket.number}/escalations",
        as_=user,
        json={"issue": issue.pk, "reason": "again"},
    )
    patched = api(
        "PATCH",
        f"/api/engineering-issues/{issue.pk}",
        as_=user,
        json={"status": "in_progress"},
    )
    statuses = tuple(r.status_code for r in (listed, got, escalated, patched))
    assert statuses == API_MATRIX[who]
    if listed.status_code == 200:
        assert [i["id"] for i in listed.json()["items"]] == [issue.pk]
    for response in (listed, got, escalated, patched):
        if response.status_code >= 400:
            assert response.json()["code"]


def test_the_list_filters_by_status_and_pages(
    api: Any, agent: User, acme_customer: User, engineering: Team
) -> None:
    from devdesk.tickets.tests.factories import make_ticket

    issues = [
        escalate(make_ticket(acme_customer), acting_user=agent, team=engineering)
        for _ in range(3)
    ]
    from devdesk.triage.escalation import set_issue_status

    set_issue_status(issues[0], "fixed", acting_user=agent)
    fixed = api("GET", "/api/engineering-issues?status=fixed", as_=agent).json()
    assert [i["id"] for i in fixed["items"]] == [issues[0].pk]
    page = api("GET", "/api/engineering-issues?limit=2", as_=agent).json()
    assert len(page["items"]) == 2
    assert page["next_cursor"]
    rest = api(
        "GET",
        f"/api/engineering-issues?limit=2&cursor={page['next_cursor']}",
        as_=agent,
    ).json()
    assert len(rest["items"]) == 1
    bad = api("GET", "/api/engineering-issues?status=shipped", as_=agent)
    assert bad.status_code == 422


def test_marking_fixed_through_the_api_drafts_the_update(
    api: Any, agent: User, issue: EngineeringIssue, owned_ticket: Ticket
) -> None:
    response = api(
        "PATCH",
        f"/api/engineering-issues/{issue.pk}",
        as_=agent,
        json={"status": "fixed"},
    )
    assert response.status_code == 200
    assert response.json()["status"] == "fixed"
    assert owned_ticket.update_drafts.filter(status="draft").count() == 1
