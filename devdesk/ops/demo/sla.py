"""The demo's SLAs: Skyforge's Berlin support hours with German (Berlin) holidays,
policies per plan, and open tickets on track, near breach and breached."""

from __future__ import annotations

from datetime import datetime, timedelta

from devdesk.tickets.models import Ticket
from devdesk.triage.models import BusinessCalendar, SlaPolicy, TicketSla
from devdesk.triage.sla import run_sla_pass, start_sla

CALENDAR = "Skyforge support hours (Berlin)"
# name, plan, priority, first response, next response, resolution (business minutes)
POLICIES = [
    ("Standard", "", None, 8 * 60, 16 * 60, 40 * 60),
    ("Enterprise", "enterprise", None, 60, 4 * 60, 16 * 60),
    ("Enterprise urgent", "enterprise", Ticket.Priority.URGENT, 30, 2 * 60, 8 * 60),
    ("Insurance", "insurance", None, 4 * 60, 8 * 60, 32 * 60),
    ("Per incident", "per-incident", None, 4 * 60, 8 * 60, 24 * 60),
]


def write_sla(*, now: datetime) -> None:
    """Calendar, policies and the SLA clocks of every unresolved demo ticket, then
    one SLA pass; three open tickets are timed to show each badge."""
    calendar, _ = BusinessCalendar.objects.get_or_create(
        name=CALENDAR,
        defaults={
            "time_zone": "Europe/Berlin",
            "holiday_country": "DE",
            "holiday_subdivision": "BE",
            "closed_days": [f"{now.year}-12-24", f"{now.year}-12-31"],
            "is_default": not BusinessCalendar.objects.filter(is_default=True).exists(),
        },
    )
    for name, plan, priority, first, following, resolution in POLICIES:
        SlaPolicy.objects.get_or_create(
            name=name,
            defaults={
                "plan": plan,
                "priority": priority,
                "first_response_minutes": first,
                "next_response_minutes": following,
                "resolution_minutes": resolution,
                "calendar": calendar,
            },
        )
    unresolved = list(
        Ticket.objects.filter(status__in=Ticket.UNRESOLVED_STATUSES)
        .select_related("organization")
        .order_by("-created_at")
    )
    for ticket in unresolved:
        start_sla(ticket, now=now)
    _show_each_badge(unresolved, now)
    run_sla_pass(now=now)


def _show_each_badge(tickets: list[Ticket], now: datetime) -> None:
    # Business hours make "due in an hour" depend on when the demo is loaded; these
    # three get a first-response clock set relative to now instead.
    waiting = [t for t in tickets if t.status in Ticket.OPEN_STATUSES]
    for ticket, due_in in zip(
        waiting,
        (timedelta(hours=5), timedelta(minutes=20), -timedelta(hours=2)),
        strict=False,
    ):
        state = TicketSla.objects.filter(ticket=ticket).first()
        if state is None:
            continue
        state.paused_at = None
        state.first_response_due_at = now + due_in
        state.first_response_warn_at = now + due_in - timedelta(minutes=45)
        for column in ("warned_at", "breached_at", "met_at"):
            setattr(state, f"first_response_{column}", None)
        state.next_due_at = state.first_response_due_at
        state.next_warn_at = state.first_response_warn_at
        state.save()


def remove_sla() -> None:
    """The demo's policies and calendar (their tickets' clocks went with the tickets)."""
    SlaPolicy.objects.filter(name__in=[p[0] for p in POLICIES]).delete()
    BusinessCalendar.objects.filter(name=CALENDAR).delete()
