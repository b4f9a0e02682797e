"""Who may see and change engineering issues, drafts and webhooks.

- admins and agents see every engineering issue, escalate, and work drafts;
- engineers see the issues of their teams and may change their status;
- partner agents and customers see none of it; anonymous visitors nothing.
- webhook endpoints and deliveries are for admins only.

An issue someone may not see is "not found" (404), as tickets are.
"""

from __future__ import annotations

from typing import cast

from django.db.models import QuerySet
from django.http import Http404

from devdesk.accounts.models import User
from devdesk.tickets.access import AnyUser, can_edit_ticket, role_of
from devdesk.tickets.models import Ticket
from devdesk.triage.models import EngineeringIssue


def visible_issues(user: AnyUser) -> QuerySet[EngineeringIssue]:
    """Every engineering issue ``user`` may see, to filter further."""
    role = role_of(user)
    issues = EngineeringIssue.objects.all()
    if role in {User.Role.ADMIN, User.Role.AGENT}:
        return issues
    if role == User.Role.ENGINEER:
        return issues.filter(team__in=cast(User, user).teams.all())
    return issues.none()


def can_see_issues(user: AnyUser) -> bool:
    """Whether ``user`` has an engineering-issues page at all."""
    return role_of(user) in {User.Role.ADMIN, User.Role.AGENT, User.Role.ENGINEER}


def get_issue_for(user: AnyUser, issue_id: int) -> EngineeringIssue:
    """The engineering issue if ``user`` may see it; otherwise :class:`Http404`."""
    try:
        return visible_issues(user).select_related("team", "endpoint").get(pk=issue_id)
    except (EngineeringIssue.DoesNotExist, ValueError, TypeError):
        raise Http404("No such engineering issue") from None


def can_escalate(user: AnyUser, ticket: Ticket) -> bool:
    return can_edit_ticket(user, ticket)


def can_change_issue_status(user: AnyUser, issue: EngineeringIssue) -> bool:
    """Desk staff, and the engineers of the issue's team."""
    role = role_of(user)
    if role in {User.Role.ADMIN, User.Role.AGENT}:
        return True
    return (
        role == User.Role.ENGINEER
        and issue.team_id is not None
        and cast(User, user).teams.filter(pk=issue.team_id).exists()
    )


def can_work_drafts(user: AnyUser, ticket: Ticket) -> bool:
    """Who edits, sends and discards drafted customer updates: desk staff."""
    return can_edit_ticket(user, ticket)


def can_manage_webhooks(user: AnyUser) -> bool:
    return role_of(user) == User.Role.ADMIN
