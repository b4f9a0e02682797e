"""Triage's tables, one module per part (each part adds its import here)."""

from devdesk.triage.models.sla import (
    BusinessCalendar,
    SlaBreach,
    SlaPolicy,
    SlaTarget,
    TicketSla,
)

__all__ = ["BusinessCalendar", "SlaBreach", "SlaPolicy", "SlaTarget", "TicketSla"]
