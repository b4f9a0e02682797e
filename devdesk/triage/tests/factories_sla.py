"""SLA test data: a Berlin office calendar and policies."""

from __future__ import annotations

from typing import Any

from devdesk.triage.models import BusinessCalendar, SlaPolicy

OFFICE_HOURS = {
    "mon": "09:00-17:00",
    "tue": "09:00-17:00",
    "wed": "09:00-17:00",
    "thu": "09:00-17:00",
    "fri": "09:00-17:00",
    "sat": "",
    "sun": "",
}


def make_calendar(**fields: Any) -> BusinessCalendar:
    values: dict[str, Any] = {
        "name": "Berlin office",
        "time_zone": "Europe/Berlin",
        "weekly_hours": OFFICE_HOURS,
        "holiday_country": "DE",
        "holiday_subdivision": "BE",
        "is_default": True,
        **fields,
    }
    return BusinessCalendar.objects.create(**values)


def make_policy(**fields: Any) -> SlaPolicy:
    values: dict[str, Any] = {
        "name": "Default",
        "first_response_minutes": 60,
        "next_response_minutes": 120,
        "resolution_minutes": 8 * 60,
        "warning_percent": 75,
        **fields,
    }
    return SlaPolicy.objects.create(**values)
