"""Triage panels that the tickets app's pages include: the ticket page's impact and
effort panel and the inbox's "customers waiting" panel (desk staff only), and the
portal ticket page's severity form (the ticket's customers only)."""

from __future__ import annotations

from typing import Any

from django import template

from devdesk.accounts.models import User
from devdesk.tickets.models import Ticket
from devdesk.triage.views_scoring import portal_severity_context, ticket_panel_context
from devdesk.triage.waiting import waiting_tickets

register = template.Library()

WAITING_PANEL_ROWS = 5


@register.inclusion_tag("triage/scoring/_ticket_panel.html")
def triage_ticket_panel(ticket: Ticket, user: User) -> dict[str, Any]:
    if not user.is_authenticated or not user.works_tickets:
        return {"hidden": True}
    return ticket_panel_context(ticket, user)


@register.inclusion_tag("triage/scoring/_portal_severity.html")
def portal_severity_form(ticket: Ticket, user: User) -> dict[str, Any]:
    if not user.is_authenticated:
        return {"hidden": True}
    return portal_severity_context(ticket, user)


@register.inclusion_tag("triage/scoring/_waiting_panel.html")
def waiting_panel(user: User) -> dict[str, Any]:
    if not user.is_authenticated or not user.is_desk_staff:
        return {"hidden": True}
    tickets = list(
        waiting_tickets(user).only(
            "id", "number", "subject", "last_customer_message_at"
        )[: WAITING_PANEL_ROWS + 1]
    )
    return {
        "tickets": tickets[:WAITING_PANEL_ROWS],
        "more": len(tickets) > WAITING_PANEL_ROWS,
    }
