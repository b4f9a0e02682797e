"""Inbound tracker webhooks over HTTP, with payloads shaped as GitHub, Jira and
Linear send them: signatures checked, replays and unknown issues refused, garbage
answered with a clear 4xx, and a fix drafting the customer updates."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from devdesk.accounts.models import Team, User
from devdesk.tickets.models import Ticket
from devdesk.triage.escalation import escalate
from devdesk.triage.models import (
    CustomerUpdateDraft,
    EngineeringIssue,
    InboundDelivery,
    WebhookEndpoint,
)
from devdesk.triage.tests.escalation.conftest import body_of, hex_hmac

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def post(
    client: Client, endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]
) -> Any:
    return client.post(
        f"/hooks/{endpoint.tracker}/{endpoint.pk}/",
        data=body,
        content_type="application/json",
        headers=headers,
    )


# GitHub


def github_issue_event(action: str, **issue: Any) -> dict[str, Any]:
    """An ``issues`` event as GitHub's documentation shows one (trimmed)."""
    payload: dict[str, Any] = {
        "action": action,
        "issue": {
            "url": "https://api.github.com/repos/skyforge/sdk-python/issues/42",
            "html_url": "https://github.com/skyforge/sdk-python/issues/42",
            "id": 1234567890,
            "node_id": "I_kwDOABCD",
            "number": 42,
            "title": "Capture retried without idempotency key",
            "user": {"login": "mei-skyforge", "id": 101, "type": "User"},
            "labels": [],
            "state": "closed" if action == "closed" else "open",
            "locked": False,
            "assignee": None,
            "comments": 3,
            "created_at": "2026-02-27T09:12:44Z",
            "updated_at": "2026-03-02T09:59:58Z",
            "closed_at": "2026-03-02T09:59:58Z" if action == "closed" else None,
            "author_association": "MEMBER",
            "body": "Retries after a timeout drop the Idempotency-Key header.",
            "state_reason": "completed" if action == "closed" else None,
            **issue,
        },
        "repository": {
            "id": 555,
            "name": "sdk-python",
            "full_name": "skyforge/sdk-python",
            "private": False,
            "html_url": "https://github.com/skyforge/sdk-python",
        },
        "sender": {"login": "mei-skyforge", "id": 101, "type": "User"},
    }
    if action == "labeled":
        payload["label"] = {"id": 9, "name": issue.pop("label", "released")}
    return payload


def github_headers(
    endpoint: WebhookEndpoint, body: bytes, **overrides: str
) -> dict[str, str]:
    headers = {
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "292430182",
        "X-Hub-Signature-256": "sha256=" + hex_hmac(endpoint.secret, body),
        "User-Agent": "GitHub-Hookshot/044aadd",
    }
    headers.update(overrides)
    return {k: v for k, v in headers.items() if v}


@pytest.fixture
def gh_issue(
    owned_ticket: Ticket, agent: User, engineering: Team, github: WebhookEndpoint
) -> EngineeringIssue:
    return escalate(
        owned_ticket,
        acting_user=agent,
        team=engineering,
        endpoint=github,
        external_key="skyforge/sdk-python#42",
    )


def test_github_closing_as_completed_marks_fixed_and_drafts_the_update(
    client: Client, github: WebhookEndpoint, gh_issue: EngineeringIssue
) -> None:
    body = body_of(github_issue_event("closed"))
    response = post(client, github, body, github_headers(github, body))
    assert response.status_code == 200, response.content
    assert response.json() == {
        "ok": True,
        "issue": "skyforge/sdk-python#42",
        "status": "fixed",
        "changed": True,
    }
    gh_issue.refresh_from_db()
    assert gh_issue.status == "fixed"
    assert (
        CustomerUpdateDraft.objects.filter(issue=gh_issue, status="draft").count() == 1
    )


@pytest.mark.parametrize(
    ("action", "extra", "status"),
    [
        ("closed", {"state_reason": "not_planned"}, "closed"),
        ("reopened", {}, "open"),
        ("labeled", {"label": "in progress"}, "in_progress"),
        ("labeled", {"label": "released"}, "released"),
    ],
)
def test_github_actions_map_to_statuses(
    client: Client,
    github: WebhookEndpoint,
    gh_issue: EngineeringIssue,
    action: str,
    extra: dict[str, Any],
    status: str,
) -> None:
    if action == "reopened":
        gh_issue.status = "fixed"
        gh_issue.save()
    body = body_of(github_issue_event(action, **extra))
    response = post(client, github, body, github_headers(github, body))
    assert response.status_code == 200, response.content
    gh_issue.refresh_from_db()
    assert gh_issue.status == status


def test_github_opened_with_the_marker_adopts_the_issue_key(
    client: Client, owned_ticket: Ticket, agent: User, github: WebhookEndpoint
) -> None:
    # given an escalation to GitHub before anyone knew the issue number
    issue = escalate(owned_ticket, acting_user=agent, endpoint=github)
    assert issue.external_key == ""
    # when the relay opens the GitHub issue with the marker in its body
    payload = github_issue_event("opened", body=f"Details\n\n{issue.marker}\n")
    body = body_of(payload)
    response = post(client, github, body, github_headers(github, body))
    # then devdesk knows it by its GitHub key from now on
    assert response.status_code == 200, response.content
    issue.refresh_from_db()
    assert issue.external_key == "skyforge/sdk-python#42"
    assert issue.url == "https://github.com/skyforge/sdk-python/issues/42"


def test_github_ping_is_acknowledged_and_ignored(
    client: Client, github: WebhookEndpoint
) -> None:
    body = body_of({"zen": "Design for failure.", "hook_id": 1})
    response = post(
        client, github, body, github_headers(github, body, **{"X-GitHub-Event": "ping"})
    )
    assert response.status_code == 200
    assert response.json()["ignored"] == "event ping"


def test_a_github_redelivery_is_refused_as_a_replay(
    client: Client, github: WebhookEndpoint, gh_issue: EngineeringIssue
) -> None:
    body = body_of(github_issue_event("closed"))
    headers = github_headers(github, body)
    assert post(client, github, body, headers).status_code == 200
    again = post(client, github, body, headers)
    assert again.status_code == 409
    assert again.json()["code"] == "replayed"
    assert InboundDelivery.objects.count() == 1


def test_an_unknown_github_issue_is_refused(
    client: Client, github: WebhookEndpoint
) -> None:
    body = body_of(github_issue_event("closed", number=999))
    response = post(client, github, body, github_headers(github, body))
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_issue"
    assert "skyforge/sdk-python#999" in response.json()["message"]
    assert not InboundDelivery.objects.exists()


# Jira


def jira_issue_updated(
    status: str, category: str, resolution: str | None
) -> dict[str, Any]:
    """A ``jira:issue_updated`` webhook as Jira Cloud's documentation shows one."""
    return {
        "timestamp": NOW_MS - 2_000,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": {
            "self": "https://skyforge.atlassian.net/rest/api/2/user?accountId=5b10a2",
            "accountId": "5b10a2844c20165700ede21g",
            "displayName": "Mei Lin",
        },
        "issue": {
            "id": "10042",
            "self": "https://skyforge.atlassian.net/rest/api/2/10042",
            "key": "PAY-12",
            "fields": {
                "summary": "Webhook signatures fail after key rotation",
                "issuetype": {"name": "Bug"},
                "status": {
                    "name": status,
                    "statusCategory": {"id": 3, "key": category, "name": status},
                },
                "resolution": {"name": resolution} if resolution else None,
                "description": "Customer-facing.",
            },
        },
        "changelog": {
            "id": "10100",
            "items": [
                {"field": "status", "fromString": "In Progress", "toString": status}
            ],
        },
    }


def jira_headers(endpoint: WebhookEndpoint, body: bytes) -> dict[str, str]:
    return {
        "X-Atlassian-Webhook-Identifier": str(uuid.uuid4()),
        "X-Hub-Signature": "sha256=" + hex_hmac(endpoint.secret, body),
    }


@pytest.fixture
def jira_issue(
    owned_ticket: Ticket, agent: User, jira: WebhookEndpoint
) -> EngineeringIssue:
    return escalate(
        owned_ticket, acting_user=agent, endpoint=jira, external_key="PAY-12"
    )


@pytest.mark.parametrize(
    ("status", "category", "resolution", "expected"),
    [
        ("Done", "done", "Fixed", "fixed"),
        ("Done", "done", "Won't Fix", "closed"),
        ("In Progress", "indeterminate", None, "in_progress"),
        ("Released", "done", "Fixed", "released"),
    ],
)
def test_jira_issue_updated_sets_the_status(
    client: Client,
    jira: WebhookEndpoint,
    jira_issue: EngineeringIssue,
    status: str,
    category: str,
    resolution: str | None,
    expected: str,
) -> None:
    body = body_of(jira_issue_updated(status, category, resolution))
    response = post(client, jira, body, jira_headers(jira, body))
    assert response.status_code == 200, response.content
    jira_issue.refresh_from_db()
    assert jira_issue.status == expected


def test_an_old_jira_delivery_is_refused(
    client: Client, jira: WebhookEndpoint, jira_issue: EngineeringIssue
) -> None:
    payload = jira_issue_updated("Done", "done", "Fixed")
    payload["timestamp"] = NOW_MS - 10 * 60 * 1000
    body = body_of(payload)
    response = post(client, jira, body, jira_headers(jira, body))
    assert response.status_code == 400
    assert response.json()["code"] == "stale_delivery"
    jira_issue.refresh_from_db()
    assert jira_issue.status == "open"


# Linear


def linear_issue_update(state_name: str, state_type: str, at_ms: int) -> dict[str, Any]:
    """An ``Issue`` ``update`` webhook as Linear's documentation shows one."""
    return {
        "action": "update",
        "actor": {"id": "2e6eea91", "type": "user", "name": "Mei Lin"},
        "createdAt": "2026-03-02T09:59:59.000Z",
        "data": {
            "id": "9cfb482a-81e3-4154-b5b9-2c805e70a02d",
            "identifier": "ENG-7",
            "title": "SDK retries drop the idempotency key",
            "description": "See the linked tickets.",
            "state": {
                "id": "8bf5c1c6",
                "name": state_name,
                "type": state_type,
                "color": "#5e6ad2",
            },
            "url": "https://linear.app/skyforge/issue/ENG-7",
        },
        "updatedFrom": {"stateId": "00ab1"},
        "url": "https://linear.app/skyforge/issue/ENG-7",
        "type": "Issue",
        "organizationId": "5a0f2e7c",
        "webhookTimestamp": at_ms,
        "webhookId": "000042e3-d123-4980-b49f-8e140eef9329",
    }


def linear_headers(endpoint: WebhookEndpoint, body: bytes) -> dict[str, str]:
    return {
        "Linear-Delivery": str(uuid.uuid4()),
        "Linear-Event": "Issue",
        "Linear-Signature": hex_hmac(endpoint.secret, body),
    }


@pytest.fixture
def linear_issue(
    owned_ticket: Ticket, agent: User, linear: WebhookEndpoint
) -> EngineeringIssue:
    return escalate(
        owned_ticket, acting_user=agent, endpoint=linear, external_key="ENG-7"
    )


@pytest.mark.parametrize(
    ("name", "kind", "expected"),
    [
        ("In Progress", "started", "in_progress"),
        ("Done", "completed", "fixed"),
        ("Released", "completed", "released"),
        ("Canceled", "canceled", "closed"),
    ],
)
def test_linear_issue_update_sets_the_status(
    client: Client,
    linear: WebhookEndpoint,
    linear_issue: EngineeringIssue,
    name: str,
    kind: str,
    expected: str,
) -> None:
    body = body_of(linear_issue_update(name, kind, NOW_MS - 1_000))
    response = post(client, linear, body, linear_headers(linear, body))
    assert response.status_code == 200, response.content
    linear_issue.refresh_from_db()
    assert linear_issue.status == expected


def test_a_linear_delivery_older_than_a_minute_is_refused(
    client: Client, linear: WebhookEndpoint, linear_issue: EngineeringIssue
) -> None:
    body = body_of(linear_issue_update("Done", "completed", NOW_MS - 61_000))
    response = post(client, linear, body, linear_headers(linear, body))
    assert response.status_code == 400
    assert response.json()["code"] == "stale_delivery"


def test_a_linear_comment_event_is_ignored(
    client: Client, linear: WebhookEndpoint
) -> None:
    payload = {
        "action": "create",
        "type": "Comment",
        "data": {"id": "c1", "body": "hello"},
        "webhookTimestamp": NOW_MS,
    }
    body = body_of(payload)
    response = post(client, linear, body, linear_headers(linear, body))
    assert response.status_code == 200
    assert response.json()["ignored"] == "event Comment.create"


# Bad input: a clear 4xx, nothing changed, never a 500


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("wrong_signature", 401, "bad_signature"),
        ("missing_signature", 401, "signature_missing"),
        ("signature_of_other_secret", 401, "bad_signature"),
        ("malformed_json", 400, "malformed_json"),
        ("json_array", 400, "malformed_json"),
        ("not_utf8", 400, "malformed_json"),
        ("missing_event_header", 400, "missing_header"),
        ("missing_delivery_header", 400, "missing_header"),
        ("no_issue_number", 400, "unexpected_payload"),
        ("empty_body", 400, "malformed_json"),
    ],
)
def test_github_garbage_is_refused_clearly(
    client: Client,
    github: WebhookEndpoint,
    gh_issue: EngineeringIssue,
    case: str,
    status: int,
    code: str,
) -> None:
    body = body_of(github_issue_event("closed"))
    headers = github_headers(github, body)
    if case == "wrong_signature":
        headers["X-Hub-Signature-256"] = "sha256=" + "0" * 64
    elif case == "missing_signature":
        del headers["X-Hub-Signature-256"]
    elif case == "signature_of_other_secret":
        headers["X-Hub-Signature-256"] = "sha256=" + hex_hmac("guess", body)
    else:
        body = {
            "malformed_json": b'{"action": "closed",',
            "json_array": b"[1, 2]",
            "not_utf8": b'{"a": "\xff\xfe"}',
            "missing_event_header": body,
            "missing_delivery_header": body,
            "no_issue_number": body_of({"action": "closed", "issue": {}}),
            "empty_body": b"",
        }[case]
        headers = github_headers(github, body)
        if case == "missing_event_header":
            del headers["X-GitHub-Event"]
        if case == "missing_delivery_header":
            del headers["X-GitHub-Delivery"]
    response = post(client, github, body, headers)
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert response.json()["message"]
    gh_issue.refresh_from_db()
    assert gh_issue.status == "open"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/hooks/github/999999/", 404),
        ("/hooks/gitlab/{id}/", 404),
        ("/hooks/jira/{id}/", 404),  # the endpoint is GitHub's
        ("/hooks/github/{id}", 401),  # no slash is fine; then no signature
    ],
)
def test_unknown_endpoints_are_refused(
    client: Client, github: WebhookEndpoint, path: str, status: int
) -> None:
    response = client.post(
        path.format(id=github.pk), data=b"{}", content_type="application/json"
    )
    assert response.status_code == status
    assert response.json()["code"]


def test_an_inactive_endpoint_is_refused(
    client: Client, github: WebhookEndpoint
) -> None:
    github.is_active = False
    github.save()
    body = body_of(github_issue_event("closed"))
    response = post(client, github, body, github_headers(github, body))
    assert response.status_code == 404


def test_get_is_not_allowed(client: Client, github: WebhookEndpoint) -> None:
    response = client.get(f"/hooks/github/{github.pk}/")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_jira_and_linear_garbage_is_refused(
    client: Client, jira: WebhookEndpoint, linear: WebhookEndpoint
) -> None:
    for endpoint, sig_header, prefix in (
        (jira, "X-Hub-Signature", "sha256="),
        (linear, "Linear-Signature", ""),
    ):
        for body in (b"not json", b'{"webhookEvent": "jira:issue_updated"}', b"{}"):
            headers = {sig_header: prefix + hex_hmac(endpoint.secret, body)}
            response = post(client, endpoint, body, headers)
            assert 400 <= response.status_code < 500, (endpoint.tracker, body)
            assert response.json()["code"]
        unsigned = post(client, endpoint, b"{}", {})
        assert unsigned.status_code == 401


def test_a_replay_within_the_time_window_is_refused_by_its_delivery_id(
    client: Client, linear: WebhookEndpoint, linear_issue: EngineeringIssue
) -> None:
    body = body_of(linear_issue_update("In Progress", "started", NOW_MS))
    headers = linear_headers(linear, body)
    assert post(client, linear, body, headers).status_code == 200
    with time_machine.travel(NOW + timedelta(seconds=5), tick=False):
        assert post(client, linear, body, headers).status_code == 409


def test_an_oversized_body_is_refused(
    client: Client,
    github: WebhookEndpoint,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = body_of(github_issue_event("closed", body="x" * 5000))
    response = post(client, github, body, github_headers(github, body))
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
