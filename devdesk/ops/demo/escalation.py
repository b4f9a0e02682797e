"""The demo's escalations to engineering: a GitHub endpoint, an issue in it
shared by three customers' tickets that GitHub reported closed as fixed (so each
ticket has a drafted update waiting for its owner), and an API Platform issue in
progress shared by two more.

Written through the services: ``escalate`` for each ticket, the delivery's
attempt recorded as the receiver's answer (no request leaves the demo), and the
fix arriving as a signed GitHub ``issues`` webhook through ``receive_webhook``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import datetime

from django.db.models import F, QuerySet

from devdesk.accounts.models import Team, User
from devdesk.ops.demo.content import Cast
from devdesk.tickets.models import Message, Ticket
from devdesk.tickets.services import update_ticket
from devdesk.triage.escalation import escalate, set_issue_status
from devdesk.triage.escalation.inbound import receive_webhook
from devdesk.triage.escalation.outgoing import record_attempt
from devdesk.triage.models import (
    EngineeringIssue,
    TrackerKind,
    WebhookDelivery,
    WebhookEndpoint,
)

ENDPOINT_NAME = "Skyforge SDKs on GitHub (demo)"
ENDPOINT_URL = "https://hooks.skyforge.example/devdesk/github"
GITHUB_REPO = "skyforge/platform"
GITHUB_NUMBER = 412


def _candidates(cast: Cast) -> list[Ticket]:
    """Unresolved customer tickets with an owner, oldest first: the stable choice
    for a seed."""
    return list(
        Ticket.objects.filter(
            organization__slug__in=[o.slug for o in cast.customers],
            status__in=[
                Ticket.Status.NEW,
                Ticket.Status.OPEN,
                Ticket.Status.PENDING_CUSTOMER,
            ],
            owner__isnull=False,
            merged_into__isnull=True,
            partner_organization__isnull=True,
        )
        .select_related("owner")
        .order_by("number")[:5]
    )


def write_escalations(cast: Cast, *, now: datetime) -> None:
    """The endpoint, the two engineering issues and their tickets (see above)."""
    tickets = _candidates(cast)
    if len(tickets) < 5:
        return
    sdk_team = Team.objects.get(slug="sdk-engineering")
    api_team = Team.objects.get(slug="api-platform")
    endpoint = WebhookEndpoint.objects.create(
        name=ENDPOINT_NAME, tracker=TrackerKind.GITHUB, url=ENDPOINT_URL
    )
    shared, platform = tickets[:3], tickets[3:]
    issue: EngineeringIssue | None = None
    for i, ticket in enumerate(shared):
        issue = escalate(
            ticket,
            acting_user=ticket.owner,
            team=sdk_team,
            endpoint=endpoint,
            issue=issue,
            external_key="" if issue else f"{GITHUB_REPO}#{GITHUB_NUMBER}",
            external_url=""
            if issue
            else f"https://github.com/{GITHUB_REPO}/issues/{GITHUB_NUMBER}",
            reason="Same problem as the other tickets linked to this issue."
            if i
            else "Reproduced with the customer's data: the fault is on our side, "
            "not in their integration. Details in the conversation above.",
            now=now,
        )
    for delivery in WebhookDelivery.objects.filter(endpoint=endpoint):
        record_attempt(
            delivery, status_code=202, now=delivery.created_at, duration_ms=84
        )
    _github_says_fixed(endpoint, shared_title=shared[0].subject, now=now)
    other: EngineeringIssue | None = None
    for ticket in platform:
        other = escalate(
            ticket,
            acting_user=ticket.owner,
            team=api_team,
            issue=other,
            reason="Needs API Platform: the customer's requests are right, our "
            "side answers wrongly.",
            now=now,
        )
    engineer = api_team.default_person
    for ticket in platform:  # the engineer works it; the owner stays the contact
        if ticket.owner is not None and engineer is not None:
            update_ticket(ticket, acting_user=ticket.owner, assignee=engineer)
    if other is not None:
        set_issue_status(
            other, EngineeringIssue.Status.IN_PROGRESS, acting_user=engineer, now=now
        )
    # As for the rest of the demo, its "mail" went out in the past.
    Message.objects.filter(ticket__in=tickets, notified_at__isnull=True).update(
        notified_at=F("created_at")
    )


def _github_says_fixed(
    endpoint: WebhookEndpoint, *, shared_title: str, now: datetime
) -> None:
    """GitHub's ``issues`` event for the fix, signed as GitHub signs it."""
    body = json.dumps(
        {
            "action": "closed",
            "issue": {
                "number": GITHUB_NUMBER,
                "html_url": f"https://github.com/{GITHUB_REPO}/issues/{GITHUB_NUMBER}",
                "title": shared_title,
                "state": "closed",
                "state_reason": "completed",
                "labels": [{"name": "bug"}],
            },
            "repository": {"full_name": GITHUB_REPO},
            "sender": {"login": "mei-skyforge"},
        }
    ).encode()
    signature = hmac.new(endpoint.secret.encode(), body, hashlib.sha256).hexdigest()
    receive_webhook(
        TrackerKind.GITHUB,
        endpoint.pk,
        headers={
            "X-GitHub-Event": "issues",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": f"sha256={signature}",
        },
        body=body,
        now=now,
    )


def remove_escalations(users: QuerySet[User]) -> None:
    """The demo's endpoint (its deliveries go with it) and the issues the demo's
    people made that no ticket links any more; call it before deleting them."""
    WebhookEndpoint.objects.filter(name=ENDPOINT_NAME).delete()
    EngineeringIssue.objects.filter(created_by__in=users, links__isnull=True).delete()
