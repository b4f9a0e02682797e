"""Admins' changes to business calendars and SLA policies, validated before saving.

Each refusal is an :class:`SlaError` with a stable code and a message naming the
field; nothing is saved then. Only admins change them (:func:`can_manage_sla`);
agents read them and the breach report (:func:`can_view_sla`); customers, partner
agents and engineers see neither.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from devdesk.accounts.models import Team, User
from devdesk.tickets.access import role_of
from devdesk.tickets.errors import TicketError
from devdesk.tickets.models import Ticket
from devdesk.triage.calendars import (
    WEEKDAYS,
    CalendarError,
    check_holiday_region,
    check_time_zone,
    format_day_hours,
    parse_day_hours,
)
from devdesk.triage.models import BusinessCalendar, SlaPolicy

# A target longer than a year of business minutes is a typo.
MAX_TARGET_MINUTES = 365 * 24 * 60


class SlaError(TicketError):
    """An SLA policy or calendar change refused, with a stable code."""


def can_manage_sla(user: User | AnonymousUser | None) -> bool:
    """Admins edit calendars and policies."""
    return role_of(user) == User.Role.ADMIN


def can_view_sla(user: User | AnonymousUser | None) -> bool:
    """Desk staff (agents and admins) read policies, calendars and the breach report."""
    return role_of(user) in {User.Role.ADMIN, User.Role.AGENT}


def _require_admin(user: User) -> None:
    if not can_manage_sla(user):
        raise SlaError("not_allowed", "Only admins change SLA settings.", status=403)


def save_calendar(
    calendar: BusinessCalendar | None,
    *,
    acting_user: User,
    name: str,
    time_zone: str,
    weekly_hours: dict[str, str],
    holiday_country: str = "",
    holiday_subdivision: str = "",
    closed_days: list[str] | None = None,
    team: Team | None = None,
    is_default: bool = False,
) -> BusinessCalendar:
    """Create (``calendar=None``) or change a business calendar. Making it the
    default takes that from the previous default. Raises :class:`SlaError`."""
    _require_admin(acting_user)
    name = " ".join(name.split())
    if not name:
        raise SlaError("name_required", "name: give the calendar a name.")
    try:
        check_time_zone(time_zone)
    except CalendarError as exc:
        raise SlaError("invalid_time_zone", f"time_zone: {exc}") from None
    unknown = set(weekly_hours) - set(WEEKDAYS)
    if unknown:
        raise SlaError(
            "invalid_hours",
            f"weekly_hours: unknown day {sorted(unknown)[0]!r}; use {', '.join(WEEKDAYS)}.",
        )
    hours: dict[str, str] = {}
    for day in WEEKDAYS:
        try:
            hours[day] = format_day_hours(parse_day_hours(weekly_hours.get(day, "")))
        except CalendarError as exc:
            raise SlaError("invalid_hours", f"weekly_hours.{day}: {exc}") from None
    if not any(hours.values()):
        raise SlaError("invalid_hours", "weekly_hours: open on at least one day.")
    try:
        country, subdivision = check_holiday_region(
            holiday_country, holiday_subdivision
        )
    except CalendarError as exc:
        raise SlaError("invalid_holidays", f"holiday_country: {exc}") from None
    days: list[str] = []
    for raw in closed_days or []:
        try:
            days.append(date.fromisoformat(raw.strip()).isoformat())
        except ValueError:
            raise SlaError(
                "invalid_closed_day",
                f"closed_days: {raw!r} is not a date like 2025-12-24.",
            ) from None
    fields: dict[str, Any] = {
        "name": name,
        "time_zone": time_zone,
        "weekly_hours": hours,
        "holiday_country": country,
        "holiday_subdivision": subdivision,
        "closed_days": sorted(set(days)),
        "team": team,
        "is_default": is_default,
    }
    try:
        with transaction.atomic():
            if is_default:
                others = BusinessCalendar.objects.filter(is_default=True)
                if calendar is not None:
                    others = others.exclude(pk=calendar.pk)
                others.update(is_default=False)
            if team is not None:
                taken = BusinessCalendar.objects.filter(team=team)
                if calendar is not None:
                    taken = taken.exclude(pk=calendar.pk)
                if taken.exists():
                    raise SlaError(
                        "team_has_calendar",
                        f"team: {team.name} already has a calendar.",
                    )
            if calendar is None:
                calendar = BusinessCalendar(**fields)
            else:
                for key, value in fields.items():
                    setattr(calendar, key, value)
                calendar.__dict__.pop("hours", None)
            calendar.save()
    except IntegrityError:
        raise SlaError(
            "name_taken", f"name: there is already a calendar called {name!r}."
        ) from None
    return calendar


POLICY_TARGETS = (
    "first_response_minutes",
    "next_response_minutes",
    "resolution_minutes",
)


def save_policy(
    policy: SlaPolicy | None,
    *,
    acting_user: User,
    name: str,
    plan: str = "",
    priority: int | None = None,
    first_response_minutes: int | None = None,
    next_response_minutes: int | None = None,
    resolution_minutes: int | None = None,
    calendar: BusinessCalendar | None = None,
    warning_percent: int | None = 80,
    warning_minutes: int | None = None,
    is_active: bool = True,
) -> SlaPolicy:
    """Create (``policy=None``) or change an SLA policy. Tickets already under it
    keep their due times; new tickets and re-timed clocks use the new targets.
    Raises :class:`SlaError`."""
    _require_admin(acting_user)
    name, plan = " ".join(name.split()), plan.strip()
    if not name:
        raise SlaError("name_required", "name: give the policy a name.")
    if priority is not None and priority not in Ticket.Priority.values:
        raise SlaError("invalid_priority", "priority: 1 (low) to 4 (urgent), or empty.")
    targets = {
        "first_response_minutes": first_response_minutes,
        "next_response_minutes": next_response_minutes,
        "resolution_minutes": resolution_minutes,
    }
    for field, value in targets.items():
        if value is not None and not 1 <= value <= MAX_TARGET_MINUTES:
            raise SlaError(
                "invalid_target",
                f"{field}: from 1 to {MAX_TARGET_MINUTES} business minutes, or empty.",
            )
    if all(value is None for value in targets.values()):
        raise SlaError("target_required", "Set at least one target.")
    if warning_percent is not None and not 1 <= warning_percent <= 99:
        raise SlaError("invalid_warning", "warning_percent: from 1 to 99, or empty.")
    if warning_minutes is not None and not 1 <= warning_minutes <= MAX_TARGET_MINUTES:
        raise SlaError("invalid_warning", "warning_minutes: at least 1, or empty.")
    clash = SlaPolicy.objects.filter(plan=plan, priority=priority)
    if policy is not None:
        clash = clash.exclude(pk=policy.pk)
    if other := clash.first():
        raise SlaError(
            "policy_exists",
            f"“{other.name}” already covers plan {plan or '(any)'} and priority "
            f"{priority or '(any)'}; edit that one instead.",
            status=409,
        )
    fields: dict[str, Any] = {
        "name": name,
        "plan": plan,
        "priority": priority,
        **targets,
        "calendar": calendar,
        "warning_percent": warning_percent,
        "warning_minutes": warning_minutes,
        "is_active": is_active,
        "updated_at": timezone.now(),
    }
    try:
        with transaction.atomic():
            if policy is None:
                policy = SlaPolicy(**fields)
            else:
                for key, value in fields.items():
                    setattr(policy, key, value)
            policy.save()
    except IntegrityError:
        raise SlaError(
            "name_taken",
            f"name: there is already a policy called {name!r}.",
            status=409,
        ) from None
    return policy


def delete_policy(policy: SlaPolicy, *, acting_user: User) -> None:
    """Delete a policy no ticket has used; one in use can only be made inactive
    (its tickets' history refers to it). Raises :class:`SlaError` (409)."""
    _require_admin(acting_user)
    if policy.ticket_states.exists() or policy.breaches.exists():
        raise SlaError(
            "policy_in_use",
            f"Tickets use “{policy.name}”; make it inactive instead of deleting it.",
            status=409,
        )
    policy.delete()
