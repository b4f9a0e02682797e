"""Forms of the desk's SLA pages: a policy, a calendar, the report's date range."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone

from devdesk.accounts.models import Team
from devdesk.tickets.models import Ticket
from devdesk.triage.calendars import WEEKDAYS
from devdesk.triage.models import BusinessCalendar

MAX_MINUTES = 525_600


class PolicyForm(forms.Form):
    name = forms.CharField(max_length=100)
    plan = forms.CharField(max_length=40, required=False, help_text="Empty: any plan")
    priority = forms.TypedChoiceField(
        choices=[("", "Any priority"), *Ticket.Priority.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    first_response_minutes = forms.IntegerField(
        min_value=1, max_value=MAX_MINUTES, required=False
    )
    next_response_minutes = forms.IntegerField(
        min_value=1, max_value=MAX_MINUTES, required=False
    )
    resolution_minutes = forms.IntegerField(
        min_value=1, max_value=MAX_MINUTES, required=False
    )
    calendar = forms.ModelChoiceField(
        queryset=BusinessCalendar.objects.all(),
        required=False,
        empty_label="The ticket's team's calendar, else the default",
    )
    warning_percent = forms.IntegerField(
        min_value=1, max_value=99, required=False, initial=80
    )
    warning_minutes = forms.IntegerField(
        min_value=1, max_value=MAX_MINUTES, required=False
    )
    is_active = forms.BooleanField(required=False, initial=True)


class CalendarForm(forms.Form):
    name = forms.CharField(max_length=100)
    time_zone = forms.CharField(
        max_length=64, initial="UTC", help_text="IANA name, e.g. Europe/Berlin"
    )
    holiday_country = forms.CharField(
        max_length=3, required=False, help_text="e.g. DE, US"
    )
    holiday_subdivision = forms.CharField(max_length=10, required=False)
    closed_days = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One date per line, e.g. 2025-12-24",
    )
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False)
    is_default = forms.BooleanField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for day in WEEKDAYS:
            self.fields[f"hours_{day}"] = forms.CharField(
                label=day.capitalize(),
                max_length=200,
                required=False,
                help_text="e.g. 09:00-12:00, 13:00-17:00; empty: closed",
            )

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        return {
            "name": data["name"],
            "time_zone": data["time_zone"],
            "weekly_hours": {day: data[f"hours_{day}"] for day in WEEKDAYS},
            "holiday_country": data["holiday_country"],
            "holiday_subdivision": data["holiday_subdivision"],
            "closed_days": [d for d in data["closed_days"].split() if d],
            "team": data["team"],
            "is_default": data["is_default"],
        }

    @staticmethod
    def initial_for(calendar: BusinessCalendar) -> dict[str, Any]:
        hours = calendar.weekly_hours if isinstance(calendar.weekly_hours, dict) else {}
        return {
            "name": calendar.name,
            "time_zone": calendar.time_zone,
            "holiday_country": calendar.holiday_country,
            "holiday_subdivision": calendar.holiday_subdivision,
            "closed_days": "\n".join(calendar.closed_days or []),
            "team": calendar.team_id,
            "is_default": calendar.is_default,
            **{f"hours_{day}": hours.get(day, "") for day in WEEKDAYS},
        }


class ReportForm(forms.Form):
    weeks = forms.IntegerField(min_value=1, max_value=104, required=False, initial=12)

    def span(self) -> tuple[Any, Any]:
        weeks = (self.cleaned_data.get("weeks") if self.is_valid() else None) or 12
        until = timezone.now()
        return until - timedelta(weeks=weeks), until
