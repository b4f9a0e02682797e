"""Escalation over HTTP: escalate a ticket, list and read engineering issues,
change an issue's status.

Customers, partner agents and anonymous callers never see engineering issues: the
list answers 403 to them, an issue they may not see is 404. Handlers follow the
recipe parse (schema) -> lookup (access) -> service -> response.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from devdesk.accounts.models import Team
from devdesk.api.auth import api_user
from devdesk.api.errors import ERROR_STATUSES, ApiError
from devdesk.api.schemas import Cursor, ErrorOut, Id, Limit, PageOut, Text
from devdesk.lib.keyset import paginate
from devdesk.tickets import access as ticket_access
from devdesk.triage.escalation import access
from devdesk.triage.escalation.issues import escalate, set_issue_status
from devdesk.triage.models import EngineeringIssue, WebhookEndpoint

router = Router(tags=["engineering"])

ERRORS = dict.fromkeys(ERROR_STATUSES, ErrorOut)

Reason = Annotated[Text, Field(max_length=100_000)]


class EscalationIn(Schema):
    team: Id | None = Field(None, description="An engineering team's id.")
    endpoint: Id | None = Field(None, description="A tracker webhook endpoint's id.")
    issue: Id | None = Field(None, description="An existing engineering issue's id.")
    external_key: Annotated[Text, Field(max_length=200)] = Field(
        "", description="An issue already in the endpoint's tracker: owner/repo#1."
    )
    external_url: Annotated[Text, Field(max_length=500)] = ""
    reason: Reason = Field("", description="What you need from engineering.")


class IssueStatusIn(Schema):
    status: EngineeringIssue.Status


class IssueFilters(Schema):
    status: EngineeringIssue.Status | None = None
    cursor: Cursor | None = None
    limit: Limit = 50


class EngineeringIssueOut(Schema):
    id: int
    reference: str
    tracker: str
    external_key: str
    url: str
    title: str
    status: str
    team: str | None
    tickets: list[int] = Field(description="Numbers of the linked tickets you see.")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def build(issue: EngineeringIssue, numbers: list[int]) -> EngineeringIssueOut:
        return EngineeringIssueOut(
            id=issue.pk,
            reference=issue.reference,
            tracker=issue.tracker,
            external_key=issue.external_key,
            url=issue.url,
            title=issue.title,
            status=issue.status,
            team=issue.team.name if issue.team else None,
            tickets=numbers,
            created_at=issue.created_at,
            updated_at=issue.updated_at,
        )


def _out(request: HttpRequest, issue: EngineeringIssue) -> EngineeringIssueOut:
    numbers = (
        ticket_access.visible_tickets(api_user(request))
        .filter(engineering_links__issue=issue)
        .order_by("number")
        .values_list("number", flat=True)
    )
    return EngineeringIssueOut.build(issue, list(numbers))


def _check_may_see_issues(request: HttpRequest) -> None:
    if not access.can_see_issues(api_user(request)):
        raise ApiError(
            403, "not_allowed", "Only desk staff and engineers see engineering issues."
        )


@router.post(
    "/tickets/{int:number}/escalations",
    response={201: EngineeringIssueOut, **ERRORS},
)
def escalate_ticket(
    request: HttpRequest, number: int, payload: EscalationIn
) -> Status[EngineeringIssueOut]:
    """Escalate a ticket to an engineering team, a tracker endpoint and/or an
    existing engineering issue. The owner does not change; the ticket becomes
    pending engineering. Answers with the linked engineering issue."""
    user = api_user(request)
    ticket = ticket_access.get_ticket_for(user, number)
    if not access.can_escalate(user, ticket):
        raise ApiError(403, "not_allowed", "You cannot escalate this ticket.")
    team = endpoint = issue = None
    if payload.team is not None:
        team = Team.objects.filter(pk=payload.team).first()
        if team is None:
            raise ApiError(422, "invalid_input", f"team: no team {payload.team}.")
    if payload.endpoint is not None:
        endpoint = WebhookEndpoint.objects.filter(pk=payload.endpoint).first()
        if endpoint is None:
            raise ApiError(
                422, "invalid_input", f"endpoint: no endpoint {payload.endpoint}."
            )
    if payload.issue is not None:
        issue = access.visible_issues(user).filter(pk=payload.issue).first()
        if issue is None:
            raise ApiError(
                422, "invalid_input", f"issue: no engineering issue {payload.issue}."
            )
    linked = escalate(
        ticket,
        acting_user=user,
        team=team,
        endpoint=endpoint,
        issue=issue,
        reason=payload.reason,
        external_key=payload.external_key,
        external_url=payload.external_url,
    )
    return Status(201, _out(request, linked))


@router.get(
    "/engineering-issues", response={200: PageOut[EngineeringIssueOut], **ERRORS}
)
def list_issues(
    request: HttpRequest, filters: Query[IssueFilters]
) -> PageOut[EngineeringIssueOut]:
    """Engineering issues you can see, newest change first."""
    _check_may_see_issues(request)
    issues = access.visible_issues(api_user(request)).select_related("team")
    if filters.status:
        issues = issues.filter(status=filters.status)
    page = paginate(
        issues,
        ordering=["-updated_at", "-id"],
        cursor=filters.cursor,
        size=filters.limit,
    )
    return PageOut[EngineeringIssueOut](
        items=[_out(request, issue) for issue in page.items],
        next_cursor=page.next_cursor,
        previous_cursor=page.previous_cursor,
    )


@router.get(
    "/engineering-issues/{int:issue_id}", response={200: EngineeringIssueOut, **ERRORS}
)
def get_issue(request: HttpRequest, issue_id: int) -> EngineeringIssueOut:
    return _out(request, access.get_issue_for(api_user(request), issue_id))


@router.patch(
    "/engineering-issues/{int:issue_id}", response={200: EngineeringIssueOut, **ERRORS}
)
def update_issue(
    request: HttpRequest, issue_id: int, payload: IssueStatusIn
) -> EngineeringIssueOut:
    """Change the status; fixed or released tells every linked ticket's owner and
    drafts a customer update on each (nothing goes to customers by itself)."""
    user = api_user(request)
    issue = access.get_issue_for(user, issue_id)
    set_issue_status(issue, payload.status, acting_user=user)
    issue.refresh_from_db()
    return _out(request, issue)
