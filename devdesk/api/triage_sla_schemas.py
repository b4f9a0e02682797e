"""SLA shapes for the API: policies, calendars, the breach report and the ``sla``
object nested in a ticket (desk staff only: customers never get it)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone
from ninja import Field, Schema
from pydantic import ConfigDict

from devdesk.accounts.models import User
from devdesk.tickets import access
from devdesk.tickets.models import Ticket
from devdesk.triage.models import BusinessCalendar, SlaPolicy, TicketSla
from devdesk.triage.sla.display import sla_status

Minutes = Annotated[int, Field(ge=1, le=525_600)]
Name = Annotated[str, Field(min_length=1, max_length=100)]


class _In(Schema):
    model_config = ConfigDict(extra="forbid")


class SlaTargetOut(Schema):
    target: str
    state: str = Field(description="on_track, warning, breached, paused or met")
    due_at: datetime | None
    met_at: datetime | None
    breached_at: datetime | None


class TicketSlaOut(Schema):
    policy: str
    state: str = Field(description="on_track, warning, breached, paused or met")
    next_due_at: datetime | None
    text: str = Field(description="For people: '2h 10m left', 'overdue 3h'")
    targets: list[SlaTargetOut]

    @classmethod
    def build(cls, state: TicketSla, now: datetime) -> TicketSlaOut:
        status = sla_status(state, now)
        return cls(
            policy=status.policy_name,
            state=status.state,
            next_due_at=status.next_due_at,
            text=status.text,
            targets=[
                SlaTargetOut(
                    target=t.target,
                    state=t.state,
                    due_at=t.due_at,
                    met_at=t.met_at,
                    breached_at=t.breached_at,
                )
                for t in status.targets
            ],
        )


def ticket_sla_out(ticket: Ticket, viewer: User) -> TicketSlaOut | None:
    """The ticket's SLA for desk staff; ``None`` for customers and for a ticket
    without SLA clocks. Load ``sla__policy`` with the ticket to avoid a query."""
    if not access.can_read_internal(viewer, ticket):
        return None
    try:
        state = ticket.sla
    except ObjectDoesNotExist:
        return None
    return TicketSlaOut.build(state, timezone.now())


class PolicyIn(_In):
    name: Name
    plan: Annotated[str, Field(max_length=40)] = ""
    priority: Ticket.Priority | None = None
    first_response_minutes: Minutes | None = None
    next_response_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None
    calendar: int | None = Field(
        None, description="Calendar id; empty: team's or default"
    )
    warning_percent: Annotated[int, Field(ge=1, le=99)] | None = 80
    warning_minutes: Minutes | None = None
    is_active: bool = True


class PolicyPatch(_In):
    name: Name | None = None
    plan: Annotated[str, Field(max_length=40)] | None = None
    priority: Ticket.Priority | None = None
    first_response_minutes: Minutes | None = None
    next_response_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None
    calendar: int | None = None
    warning_percent: Annotated[int, Field(ge=1, le=99)] | None = None
    warning_minutes: Minutes | None = None
    is_active: bool | None = None


class PolicyOut(Schema):
    id: int
    name: str
    plan: str
    priority: int | None
    first_response_minutes: int | None
    next_response_minutes: int | None
    resolution_minutes: int | None
    calendar: int | None
    warning_percent: int | None
    warning_minutes: int | None
    is_active: bool
    is_default: bool

    @classmethod
    def build(cls, policy: SlaPolicy) -> PolicyOut:
        return cls(
            id=policy.pk,
            name=policy.name,
            plan=policy.plan,
            priority=policy.priority,
            first_response_minutes=policy.first_response_minutes,
            next_response_minutes=policy.next_response_minutes,
            resolution_minutes=policy.resolution_minutes,
            calendar=policy.calendar_id,
            warning_percent=policy.warning_percent,
            warning_minutes=policy.warning_minutes,
            is_active=policy.is_active,
            is_default=policy.is_default,
        )


class CalendarIn(_In):
    name: Name
    time_zone: Annotated[str, Field(max_length=64)] = "UTC"
    weekly_hours: dict[str, Annotated[str, Field(max_length=200)]] = Field(
        description='{"mon": "09:00-12:00, 13:00-17:00", ..., "sun": ""}'
    )
    holiday_country: Annotated[str, Field(max_length=3)] = ""
    holiday_subdivision: Annotated[str, Field(max_length=10)] = ""
    closed_days: list[Annotated[str, Field(max_length=10)]] = Field(
        default_factory=list, max_length=1000
    )
    team: int | None = None
    is_default: bool = False


class CalendarOut(Schema):
    id: int
    name: str
    time_zone: str
    weekly_hours: dict[str, str]
    holiday_country: str
    holiday_subdivision: str
    closed_days: list[str]
    team: int | None
    is_default: bool

    @classmethod
    def build(cls, calendar: BusinessCalendar) -> CalendarOut:
        return cls(
            id=calendar.pk,
            name=calendar.name,
            time_zone=calendar.time_zone,
            weekly_hours=dict(calendar.weekly_hours),
            holiday_country=calendar.holiday_country,
            holiday_subdivision=calendar.holiday_subdivision,
            closed_days=list(calendar.closed_days or []),
            team=calendar.team_id,
            is_default=calendar.is_default,
        )


class BreachCountOut(Schema):
    week: date
    policy: str
    target: str
    breaches: int


class SetPolicyIn(_In):
    policy: int
    reason: Annotated[str, Field(max_length=200)] = ""
