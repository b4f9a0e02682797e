"""The SLA panel on the desk's ticket page."""

from __future__ import annotations

from typing import Any

from django import template
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone

from devdesk.tickets.models import Ticket
from devdesk.triage.sla.display import sla_status

register = template.Library()


@register.inclusion_tag("triage/sla/_ticket_sla.html")
def ticket_sla(ticket: Ticket) -> dict[str, Any]:
    """The ticket's SLA as of now; nothing when it has no SLA clocks. The ticket
    page loads ``sla__policy`` with the ticket, so this costs no query there."""
    try:
        state = ticket.sla
    except ObjectDoesNotExist:
        return {"status": None}
    return {"status": sla_status(state, timezone.now())}
