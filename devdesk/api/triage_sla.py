"""SLA policies, business calendars and the breach report over HTTP.

Desk staff (agents, admins) read; admins change. Everyone else is refused (403):
customers never see SLA settings, reports or a ticket's SLA state.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema, Status

from devdesk.accounts.models import Team, User
from devdesk.api.auth import api_user
from devdesk.api.errors import ERROR_STATUSES, ApiError
from devdesk.api.schemas import ErrorOut
from devdesk.api.triage_sla_schemas import (
    BreachCountOut,
    CalendarIn,
    CalendarOut,
    PolicyIn,
    PolicyOut,
    PolicyPatch,
    SetPolicyIn,
    TicketSlaOut,
)
from devdesk.tickets import access
from devdesk.tickets.models import Ticket
from devdesk.triage.models import BusinessCalendar, SlaPolicy
from devdesk.triage.sla import set_policy
from devdesk.triage.sla.policies import (
    can_view_sla,
    delete_policy,
    save_calendar,
    save_policy,
)
from devdesk.triage.sla.report import breach_counts

router = Router(tags=["sla"])
ERRORS = dict.fromkeys(ERROR_STATUSES, ErrorOut)


def _staff(request: HttpRequest) -> User:
    user = api_user(request)
    if not can_view_sla(user):
        raise ApiError(403, "not_allowed", "Only desk agents and admins see SLAs.")
    return user


def _policy(policy_id: int) -> SlaPolicy:
    policy = SlaPolicy.objects.filter(pk=policy_id).first()
    if policy is None:
        raise ApiError(404, "not_found", f"There is no SLA policy {policy_id}.")
    return policy


def _calendar(
    calendar_id: int | None, field: str = "calendar"
) -> BusinessCalendar | None:
    if calendar_id is None:
        return None
    calendar = BusinessCalendar.objects.filter(pk=calendar_id).first()
    if calendar is None:
        raise ApiError(
            422, "invalid_calendar", f"{field}: there is no calendar {calendar_id}."
        )
    return calendar


def _team(team_id: int | None) -> Team | None:
    if team_id is None:
        return None
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise ApiError(422, "invalid_team", f"team: there is no team {team_id}.")
    return team


@router.get("/sla/policies", response={200: list[PolicyOut], **ERRORS})
def list_policies(request: HttpRequest) -> list[PolicyOut]:
    """Every SLA policy, by plan and priority."""
    _staff(request)
    return [PolicyOut.build(p) for p in SlaPolicy.objects.all()]


@router.post("/sla/policies", response={201: PolicyOut, **ERRORS})
def create_policy(request: HttpRequest, payload: PolicyIn) -> Status[PolicyOut]:
    """Add a policy (admins). Empty plan or priority: any."""
    user = _staff(request)
    fields: dict[str, Any] = payload.model_dump()
    fields["calendar"] = _calendar(payload.calendar)
    policy = save_policy(None, acting_user=user, **fields)
    return Status(201, PolicyOut.build(policy))


@router.get("/sla/policies/{int:policy_id}", response={200: PolicyOut, **ERRORS})
def get_policy(request: HttpRequest, policy_id: int) -> PolicyOut:
    _staff(request)
    return PolicyOut.build(_policy(policy_id))


@router.patch("/sla/policies/{int:policy_id}", response={200: PolicyOut, **ERRORS})
def update_policy(
    request: HttpRequest, policy_id: int, payload: PolicyPatch
) -> PolicyOut:
    """Change the fields sent (admins); ``null`` empties a target or the calendar."""
    user = _staff(request)
    policy = _policy(policy_id)
    fields = PolicyIn(
        name=policy.name,
        plan=policy.plan,
        priority=None if policy.priority is None else Ticket.Priority(policy.priority),
        first_response_minutes=policy.first_response_minutes,
        next_response_minutes=policy.next_response_minutes,
        resolution_minutes=policy.resolution_minutes,
        calendar=policy.calendar_id,
        warning_percent=policy.warning_percent,
        warning_minutes=policy.warning_minutes,
        is_active=policy.is_active,
    ).model_dump()
    sent = payload.model_dump(include=payload.model_fields_set)
    for key in ("name", "plan", "is_active"):
        if key in sent and sent[key] is None:
            raise ApiError(422, "invalid_input", f"{key}: may not be null.")
    fields.update(sent)
    fields["calendar"] = _calendar(fields["calendar"])
    return PolicyOut.build(save_policy(policy, acting_user=user, **fields))


@router.delete("/sla/policies/{int:policy_id}", response={204: None, **ERRORS})
def remove_policy(request: HttpRequest, policy_id: int) -> Status[None]:
    """Delete a policy no ticket has used (admins); 409 otherwise."""
    user = _staff(request)
    delete_policy(_policy(policy_id), acting_user=user)
    return Status(204, None)


@router.get("/sla/calendars", response={200: list[CalendarOut], **ERRORS})
def list_calendars(request: HttpRequest) -> list[CalendarOut]:
    _staff(request)
    return [CalendarOut.build(c) for c in BusinessCalendar.objects.all()]


@router.post("/sla/calendars", response={201: CalendarOut, **ERRORS})
def create_calendar(request: HttpRequest, payload: CalendarIn) -> Status[CalendarOut]:
    """Add a business calendar (admins)."""
    user = _staff(request)
    fields: dict[str, Any] = payload.model_dump()
    fields["team"] = _team(payload.team)
    return Status(
        201, CalendarOut.build(save_calendar(None, acting_user=user, **fields))
    )


@router.put("/sla/calendars/{int:calendar_id}", response={200: CalendarOut, **ERRORS})
def replace_calendar(
    request: HttpRequest, calendar_id: int, payload: CalendarIn
) -> CalendarOut:
    """Replace a calendar's settings (admins)."""
    user = _staff(request)
    calendar = _calendar(calendar_id, "calendar_id")
    if calendar is None:  # pragma: no cover - an id was given
        raise ApiError(404, "not_found", "No such calendar.")
    fields: dict[str, Any] = payload.model_dump()
    fields["team"] = _team(payload.team)
    return CalendarOut.build(save_calendar(calendar, acting_user=user, **fields))


class BreachFilters(Schema):
    since: date | None = None
    until: date | None = None


@router.get("/sla/breaches", response={200: list[BreachCountOut], **ERRORS})
def list_breach_counts(
    request: HttpRequest, filters: Query[BreachFilters]
) -> list[BreachCountOut]:
    """Breaches per week, policy and target; the last 12 weeks unless ``since`` /
    ``until`` (dates, until exclusive) say otherwise."""
    _staff(request)
    until = filters.until or (timezone.now().date() + timedelta(days=1))
    since = filters.since or (until - timedelta(weeks=12))
    if since >= until:
        raise ApiError(422, "invalid_input", "since: must be before until.")
    rows = breach_counts(
        since=datetime.combine(since, time(), tzinfo=UTC),
        until=datetime.combine(until, time(), tzinfo=UTC),
    )
    return [
        BreachCountOut(
            week=r.week, policy=r.policy, target=r.target, breaches=r.breaches
        )
        for r in rows
    ]


@router.put("/tickets/{int:number}/sla/policy", response={200: TicketSlaOut, **ERRORS})
def put_ticket_policy(
    request: HttpRequest, number: int, payload: SetPolicyIn
) -> TicketSlaOut:
    """Put the ticket under another SLA policy (desk staff); its running clocks
    are re-timed and the change is recorded in its history."""
    user = _staff(request)
    ticket = access.get_ticket_for(user, number)
    policy = SlaPolicy.objects.filter(pk=payload.policy).first()
    if policy is None:
        raise ApiError(
            422, "invalid_policy", f"policy: there is no SLA policy {payload.policy}."
        )
    state = set_policy(ticket, policy, acting_user=user, reason=payload.reason)
    state.policy = policy
    return TicketSlaOut.build(state, timezone.now())
