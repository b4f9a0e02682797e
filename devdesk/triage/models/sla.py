"""SLA tables: business calendars, policies per plan and priority, each ticket's SLA
clocks, and the breaches the periodic pass found (the breach report's source)."""

from __future__ import annotations

from datetime import date, datetime
from functools import cached_property
from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone

from devdesk.accounts.models import Team
from devdesk.tickets.models import Ticket
from devdesk.triage.calendars import (
    WEEKDAYS,
    BusinessHours,
    CalendarError,
    parse_day_hours,
)


def default_weekly_hours() -> dict[str, str]:
    """Monday to Friday, nine to five; closed at weekends."""
    return {
        day: ("09:00-17:00" if day not in {"sat", "sun"} else "") for day in WEEKDAYS
    }


class BusinessCalendar(models.Model):
    """When a team works: a time zone, opening hours per weekday ("09:00-12:00,
    13:00-17:00"), a region's public holidays and extra closed days."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    # {"mon": "09:00-17:00", ..., "sun": ""}: local wall-clock ranges per weekday.
    weekly_hours = models.JSONField(default=default_weekly_hours)
    holiday_country = models.CharField(
        max_length=3, blank=True, help_text="ISO 3166 code, e.g. DE; empty: none"
    )
    holiday_subdivision = models.CharField(
        max_length=10, blank=True, help_text="e.g. BY for Bavaria; empty: nationwide"
    )
    # ["2025-12-24", ...]: days the team is closed on top of public holidays.
    closed_days = models.JSONField(default=list, blank=True)
    team = models.OneToOneField(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="business_calendar",
    )
    is_default = models.BooleanField(
        default=False, help_text="Used for tickets whose team has no calendar"
    )

    class Meta:
        ordering: ClassVar = ["name"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="calendar_one_default",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @cached_property
    def hours(self) -> BusinessHours:
        """The calendar as :mod:`devdesk.triage.calendars` computes with it.
        Raises :class:`CalendarError` for hours saved in a form it cannot read."""
        weekly = self.weekly_hours if isinstance(self.weekly_hours, dict) else {}
        closed = frozenset(
            date.fromisoformat(d)
            for d in (self.closed_days or [])
            if isinstance(d, str)
        )
        try:
            return BusinessHours(
                time_zone=self.time_zone,
                weekly=tuple(parse_day_hours(str(weekly.get(d, ""))) for d in WEEKDAYS),
                holiday_country=self.holiday_country,
                holiday_subdivision=self.holiday_subdivision,
                closed_days=closed,
            )
        except ValueError as exc:
            raise CalendarError(f"Calendar {self.name!r}: {exc}") from None


class SlaTarget(models.TextChoices):
    FIRST_RESPONSE = "first_response", "First response"
    NEXT_RESPONSE = "next_response", "Next response"
    RESOLUTION = "resolution", "Resolution"


class SlaPolicy(models.Model):
    """Response and resolution targets in business minutes for one plan and priority.

    An empty ``plan`` matches every plan and an empty ``priority`` every priority; a
    ticket gets the most specific active policy (plan and priority, then plan, then
    priority, then the default: any plan, any priority). An empty target is not
    measured.
    """

    name = models.CharField(max_length=100, unique=True)
    plan = models.CharField(max_length=40, blank=True, help_text="Empty: any plan")
    priority = models.PositiveSmallIntegerField(
        choices=Ticket.Priority.choices, null=True, blank=True
    )
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    next_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    calendar = models.ForeignKey(
        BusinessCalendar,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="policies",
        help_text="Empty: the ticket's team's calendar, else the desk default",
    )
    # Warn once this share of a target has passed, or this many business minutes
    # before it is due, whichever comes first (either may be empty).
    warning_percent = models.PositiveSmallIntegerField(
        null=True, blank=True, default=80
    )
    warning_minutes = models.PositiveIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["plan", "priority", "name"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["plan", "priority"],
                condition=Q(priority__isnull=False),
                name="sla_policy_plan_priority",
            ),
            models.UniqueConstraint(
                fields=["plan"],
                condition=Q(priority__isnull=True),
                name="sla_policy_plan_any_priority",
            ),
        ]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return self.name

    @property
    def is_default(self) -> bool:
        return self.plan == "" and self.priority is None

    def target_minutes(self, target: str) -> int | None:
        value: int | None = getattr(self, f"{target}_minutes")
        return value


# The clock columns of :class:`TicketSla`, for each target.
CLOCK_FIELDS = ("due_at", "warn_at", "warned_at", "breached_at", "met_at")


class TicketSla(models.Model):
    """A ticket's SLA clocks under its policy.

    For each target (first response, next response, resolution): when it is due,
    when to warn, and when it was warned, breached and met. A clock runs while it
    has a due time and is not met. ``paused_at`` is set while the ticket waits on
    the customer (or is solved or closed); on resuming every running clock moves
    on by the business time it was paused. ``next_due_at`` / ``next_warn_at`` are
    the earliest of the running clocks, kept for the inbox badge.
    """

    ticket = models.OneToOneField(
        Ticket, primary_key=True, on_delete=models.CASCADE, related_name="sla"
    )
    policy = models.ForeignKey(
        SlaPolicy, on_delete=models.PROTECT, related_name="ticket_states"
    )
    # Set by set_policy() (a rule, an agent): a priority change no longer re-matches.
    is_policy_pinned = models.BooleanField(default=False)
    paused_at = models.DateTimeField(null=True, blank=True)
    next_due_at = models.DateTimeField(null=True, blank=True)
    next_warn_at = models.DateTimeField(null=True, blank=True)

    first_response_due_at = models.DateTimeField(null=True, blank=True)
    first_response_warn_at = models.DateTimeField(null=True, blank=True)
    first_response_warned_at = models.DateTimeField(null=True, blank=True)
    first_response_breached_at = models.DateTimeField(null=True, blank=True)
    first_response_met_at = models.DateTimeField(null=True, blank=True)

    next_response_due_at = models.DateTimeField(null=True, blank=True)
    next_response_warn_at = models.DateTimeField(null=True, blank=True)
    next_response_warned_at = models.DateTimeField(null=True, blank=True)
    next_response_breached_at = models.DateTimeField(null=True, blank=True)
    next_response_met_at = models.DateTimeField(null=True, blank=True)

    resolution_due_at = models.DateTimeField(null=True, blank=True)
    resolution_warn_at = models.DateTimeField(null=True, blank=True)
    resolution_warned_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)
    resolution_met_at = models.DateTimeField(null=True, blank=True)

    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # The periodic pass looks for clocks due (or due a warning) before now.
        indexes: ClassVar = [
            models.Index(fields=[f"{target}_{column}"], name=f"sla_{short}_{column}")
            for target, short in (
                ("first_response", "first"),
                ("next_response", "next"),
                ("resolution", "resolution"),
            )
            for column in ("due_at", "warn_at")
        ]
        verbose_name = "ticket SLA"

    def __str__(self) -> str:
        return f"SLA of ticket {self.ticket_id} ({self.policy_id})"

    def inbox_badge(self, now: datetime) -> str:
        """The inbox row's SLA badge (HTML): time left, overdue or paused."""
        from devdesk.triage.sla.display import inbox_badge  # display reads models

        return inbox_badge(self, now)


class SlaBreach(models.Model):
    """One target missed: written once by the periodic pass with its event."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    policy = models.ForeignKey(
        SlaPolicy, on_delete=models.PROTECT, related_name="breaches"
    )
    target = models.CharField(max_length=20, choices=SlaTarget.choices)
    due_at = models.DateTimeField()
    breached_at = models.DateTimeField()

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["breached_at"], name="sla_breach_at"),
        ]

    def __str__(self) -> str:
        return f"{self.target} of ticket {self.ticket_id} at {self.breached_at}"
