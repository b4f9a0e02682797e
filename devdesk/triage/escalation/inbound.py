"""Inbound tracker webhooks: GitHub, Jira and Linear tell devdesk that an
engineering issue moved, at ``/hooks/<tracker>/<endpoint id>/``.

What each sends (as their documentation shows it):

- **GitHub** ``issues`` events (``X-GitHub-Event: issues``; actions ``opened``,
  ``closed``, ``reopened``, ``labeled``), a unique ``X-GitHub-Delivery`` GUID
  (the same on a manual redelivery) and ``X-Hub-Signature-256: sha256=<hex>``, the
  HMAC-SHA256 of the raw body keyed by the webhook's secret. No timestamp: replays
  are refused by delivery id.
- **Jira** Cloud ``{"timestamp": <ms>, "webhookEvent": "jira:issue_updated",
  "issue": {"key": "PAY-12", "fields": {"status": {"name": ..., "statusCategory":
  {"key": "new" | "indeterminate" | "done"}}, "resolution": {"name": "Fixed"} |
  null, ...}}}``; an admin webhook with a secret sends ``X-Hub-Signature:
  sha256=<hex>`` (WebSub style, HMAC-SHA256 of the raw body), and each delivery has
  an ``X-Atlassian-Webhook-Identifier``.
- **Linear** ``{"action": "update", "type": "Issue", "data": {"identifier":
  "ENG-7", "state": {"name": ..., "type": "started" | "completed" | ...}, ...},
  "url": ..., "webhookTimestamp": <ms>}`` with ``Linear-Signature: <hex>`` (HMAC-
  SHA256 of the raw body) and ``Linear-Delivery: <uuid>``.

Refusals are :class:`InboundError` with a stable code and a 4xx status: an unknown
endpoint (404), a missing or wrong signature (401), malformed JSON or a payload
missing what is needed (400), a replayed delivery (409), a delivery older than
``WEBHOOK_MAX_AGE_SECONDS`` (400) and an issue devdesk does not know (404). The
signature is checked before the body is parsed, in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction

from devdesk.triage.escalation.issues import set_issue_status
from devdesk.triage.models import (
    EngineeringIssue,
    InboundDelivery,
    TrackerKind,
    WebhookEndpoint,
)

IssueStatus = EngineeringIssue.Status
MARKER_RE = re.compile(r"devdesk-engineering-issue:\s*(\d{1,12})")


class InboundError(Exception):
    """A webhook refused; ``code`` is stable, ``message`` says what to fix."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class TrackerEvent:
    """What devdesk reads from one tracker delivery."""

    delivery_id: str
    name: str  # "issues.closed", "jira:issue_updated", "Issue.update"
    key: str = ""  # empty: an event devdesk ignores (a ping, a comment)
    url: str = ""
    text: str = ""  # title and description, searched for the devdesk marker
    status: str | None = None  # None: nothing to change
    timestamp_ms: int | None = None


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name, "").strip()
    if not value:
        raise InboundError(400, "missing_header", f"The {name} header is missing.")
    return value


def _check_hmac(secret: str, body: bytes, given: str, header: str) -> None:
    if not given:
        raise InboundError(
            401, "signature_missing", f"The {header} header is missing: sign the body."
        )
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given.strip().removeprefix("sha256=")):
        raise InboundError(
            401,
            "bad_signature",
            f"The {header} signature does not match the body and this endpoint's "
            "secret.",
        )


def _field(data: Any, *path: str) -> Any:
    """``data[path[0]][path[1]]…``; a 400 naming the field when one is missing."""
    value = data
    for i, part in enumerate(path):
        if not isinstance(value, dict) or value.get(part) is None:
            raise InboundError(
                400,
                "unexpected_payload",
                f"The payload has no {'.'.join(path[: i + 1])}.",
            )
        value = value[part]
    return value


def _text(*values: Any) -> str:
    return " ".join(v if isinstance(v, str) else json.dumps(v) for v in values if v)


# GitHub


GITHUB_LABELS = {
    "in progress": IssueStatus.IN_PROGRESS,
    "in-progress": IssueStatus.IN_PROGRESS,
    "status: in progress": IssueStatus.IN_PROGRESS,
    "fixed": IssueStatus.FIXED,
    "released": IssueStatus.RELEASED,
}


def _verify_github(secret: str, headers: Mapping[str, str], body: bytes) -> None:
    _check_hmac(
        secret, body, headers.get("X-Hub-Signature-256", ""), "X-Hub-Signature-256"
    )


def _parse_github(headers: Mapping[str, str], payload: dict[str, Any]) -> TrackerEvent:
    delivery = _header(headers, "X-GitHub-Delivery")
    event = _header(headers, "X-GitHub-Event")
    action = str(payload.get("action", ""))
    if event != "issues":
        return TrackerEvent(delivery, event)
    number = _field(payload, "issue", "number")
    repo = _field(payload, "repository", "full_name")
    issue = payload["issue"]
    status: str | None = None
    if action in {"opened", "reopened"}:
        status = IssueStatus.OPEN
    elif action == "closed":
        status = (
            IssueStatus.CLOSED
            if issue.get("state_reason") == "not_planned"
            else IssueStatus.FIXED
        )
    elif action == "labeled":
        label = str((payload.get("label") or {}).get("name", "")).lower()
        status = GITHUB_LABELS.get(label)
    return TrackerEvent(
        delivery,
        f"issues.{action}",
        key=f"{repo}#{number}",
        url=str(issue.get("html_url") or ""),
        text=_text(issue.get("title"), issue.get("body")),
        status=status,
    )


# Jira


JIRA_NOT_FIXED = {
    "won't fix",
    "won't do",
    "duplicate",
    "cannot reproduce",
    "incomplete",
    "declined",
}


def _verify_jira(secret: str, headers: Mapping[str, str], body: bytes) -> None:
    _check_hmac(secret, body, headers.get("X-Hub-Signature", ""), "X-Hub-Signature")


def _jira_status(fields: dict[str, Any]) -> str | None:
    status = fields.get("status") or {}
    name = str(status.get("name", "")).lower()
    category = str((status.get("statusCategory") or {}).get("key", ""))
    resolution = str((fields.get("resolution") or {}).get("name", "")).lower()
    if name == "released":
        return IssueStatus.RELEASED
    if category == "done":
        return IssueStatus.CLOSED if resolution in JIRA_NOT_FIXED else IssueStatus.FIXED
    if category == "indeterminate":
        return IssueStatus.IN_PROGRESS
    if category == "new":
        return IssueStatus.OPEN
    return None


def _parse_jira(headers: Mapping[str, str], payload: dict[str, Any]) -> TrackerEvent:
    timestamp = payload.get("timestamp")
    if not isinstance(timestamp, int):
        raise InboundError(400, "unexpected_payload", "The payload has no timestamp.")
    event = str(payload.get("webhookEvent", ""))
    if event not in {"jira:issue_updated", "jira:issue_created"}:
        delivery = headers.get("X-Atlassian-Webhook-Identifier", "") or f"{timestamp}"
        return TrackerEvent(delivery, event, timestamp_ms=timestamp)
    key = str(_field(payload, "issue", "key"))
    fields = _field(payload, "issue", "fields")
    delivery = (
        headers.get("X-Atlassian-Webhook-Identifier", "").strip()
        or f"{timestamp}:{key}"
    )
    api_url = urlsplit(str(payload["issue"].get("self", "")))
    url = f"{api_url.scheme}://{api_url.netloc}/browse/{key}" if api_url.netloc else ""
    return TrackerEvent(
        delivery,
        event,
        key=key,
        url=url,
        text=_text(fields.get("summary"), fields.get("description")),
        status=_jira_status(fields),
        timestamp_ms=timestamp,
    )


# Linear


LINEAR_STATES = {
    "triage": IssueStatus.OPEN,
    "backlog": IssueStatus.OPEN,
    "unstarted": IssueStatus.OPEN,
    "started": IssueStatus.IN_PROGRESS,
    "completed": IssueStatus.FIXED,
    "canceled": IssueStatus.CLOSED,
}
RELEASED_NAMES = {"released", "deployed", "shipped"}


def _verify_linear(secret: str, headers: Mapping[str, str], body: bytes) -> None:
    _check_hmac(secret, body, headers.get("Linear-Signature", ""), "Linear-Signature")


def _parse_linear(headers: Mapping[str, str], payload: dict[str, Any]) -> TrackerEvent:
    timestamp = payload.get("webhookTimestamp")
    if not isinstance(timestamp, int):
        raise InboundError(
            400, "unexpected_payload", "The payload has no webhookTimestamp."
        )
    kind, action = str(payload.get("type", "")), str(payload.get("action", ""))
    raw_data = payload.get("data")
    data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
    delivery = headers.get("Linear-Delivery", "").strip() or (
        f"{payload.get('webhookId', '')}:{data.get('id', '')}:{timestamp}"
    )
    if kind != "Issue" or action not in {"create", "update"}:
        return TrackerEvent(delivery, f"{kind}.{action}", timestamp_ms=timestamp)
    key = str(_field(payload, "data", "identifier"))
    state = data.get("state") or {}
    status = LINEAR_STATES.get(str(state.get("type", "")))
    if (
        status == IssueStatus.FIXED
        and str(state.get("name", "")).lower() in RELEASED_NAMES
    ):
        status = IssueStatus.RELEASED
    return TrackerEvent(
        delivery,
        f"Issue.{action}",
        key=key,
        url=str(payload.get("url") or data.get("url") or ""),
        text=_text(data.get("title"), data.get("description")),
        status=status,
        timestamp_ms=timestamp,
    )


@dataclass(frozen=True)
class Tracker:
    verify: Callable[[str, Mapping[str, str], bytes], None]
    parse: Callable[[Mapping[str, str], dict[str, Any]], TrackerEvent]


TRACKERS: dict[str, Tracker] = {
    TrackerKind.GITHUB: Tracker(_verify_github, _parse_github),
    TrackerKind.JIRA: Tracker(_verify_jira, _parse_jira),
    TrackerKind.LINEAR: Tracker(_verify_linear, _parse_linear),
}


def _find_issue(
    endpoint: WebhookEndpoint, event: TrackerEvent
) -> EngineeringIssue | None:
    """The issue with this tracker key; else one named by the devdesk marker in
    the tracker issue's text and not yet keyed, which takes the key and URL."""
    issue = EngineeringIssue.objects.filter(
        tracker=endpoint.tracker, external_key=event.key
    ).first()
    if issue is not None:
        return issue
    for pk in MARKER_RE.findall(event.text):
        candidate = EngineeringIssue.objects.filter(
            pk=int(pk), tracker=endpoint.tracker, external_key=""
        ).first()
        if candidate is not None:
            candidate.external_key = event.key
            candidate.url = candidate.url or event.url
            candidate.save(update_fields=["external_key", "url"])
            return candidate
    return None


def receive_webhook(
    tracker: str,
    endpoint_id: int,
    *,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> dict[str, Any]:
    """Apply one tracker delivery; returns the JSON answer for a 200.

    1. The endpoint must exist, be active and be of this tracker.
    2. Verify the signature over the raw body, before reading it.
    3. Parse the JSON and the tracker's event; events about anything but issues
       are acknowledged and ignored.
    4. Refuse a delivery id seen before (409) and a timestamp older than
       ``WEBHOOK_MAX_AGE_SECONDS`` (400).
    5. Find the engineering issue (by key, or by the devdesk marker); refuse an
       unknown one (404).
    6. Apply the status (which tells the linked tickets) and remember the delivery
       id, in one transaction: a refusal stores nothing.

    Raises :class:`InboundError`.
    """
    spec = TRACKERS.get(tracker)
    endpoint = (
        WebhookEndpoint.objects.filter(
            pk=endpoint_id, tracker=tracker, is_active=True
        ).first()
        if spec
        else None
    )
    if spec is None or endpoint is None:
        raise InboundError(
            404, "unknown_endpoint", f"There is no active {tracker} endpoint here."
        )
    spec.verify(endpoint.secret, headers, body)
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InboundError(
            400, "malformed_json", "The body is not valid JSON (UTF-8) text."
        ) from None
    if not isinstance(payload, dict):
        raise InboundError(400, "malformed_json", "The body must be a JSON object.")
    event = spec.parse(headers, payload)
    if event.timestamp_ms is not None:
        age = now.timestamp() - event.timestamp_ms / 1000
        if abs(age) > settings.WEBHOOK_MAX_AGE_SECONDS:
            raise InboundError(
                400,
                "stale_delivery",
                f"The delivery's timestamp is {int(age)} s from now; at most "
                f"{settings.WEBHOOK_MAX_AGE_SECONDS} s are accepted (replays are "
                "refused).",
            )
    if InboundDelivery.objects.filter(
        endpoint=endpoint, delivery_id=event.delivery_id[:200]
    ).exists():
        raise InboundError(
            409, "replayed", f"Delivery {event.delivery_id} was already received."
        )
    try:
        with transaction.atomic():
            answer = _apply(endpoint, event, now=now)
            InboundDelivery.objects.create(
                endpoint=endpoint,
                delivery_id=event.delivery_id[:200],
                event=event.name[:100],
                received_at=now,
                outcome=str(answer.get("status") or answer.get("ignored", ""))[:200],
            )
    except IntegrityError:  # the same delivery, arriving twice at once
        raise InboundError(
            409, "replayed", f"Delivery {event.delivery_id} was already received."
        ) from None
    return answer


def _apply(
    endpoint: WebhookEndpoint, event: TrackerEvent, *, now: datetime
) -> dict[str, Any]:
    if not event.key:
        return {"ok": True, "ignored": f"event {event.name or '(unnamed)'}"}
    issue = _find_issue(endpoint, event)
    if issue is None:
        raise InboundError(
            404,
            "unknown_issue",
            f"No engineering issue in devdesk is linked to {event.key}. Escalate a "
            "ticket to it first, or put the devdesk marker in the issue's description.",
        )
    changed = False
    if event.status is not None:
        changed = set_issue_status(
            issue, event.status, acting_user=None, source=endpoint.tracker, now=now
        )
        issue.refresh_from_db()
    return {
        "ok": True,
        "issue": issue.reference,
        "status": issue.status,
        "changed": changed,
    }
