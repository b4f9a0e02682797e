"""Triage panels that the tickets app's pages include: the ticket page's impact and
effort panel and the inbox's "customers waiting" panel (desk staff only), and the
portal ticket page's severity form (the ticket's customers only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from django import template
from django.conf import settings
from django.core.cache import cache
from django.db.models import Max

from devdesk.accounts.models import User
from devdesk.tickets.models import Ticket
from devdesk.triage.views_scoring import portal_severity_context, ticket_panel_context
from devdesk.triage.waiting import waiting_tickets

register = template.Library()

WAITING_PANEL_ROWS = 5


class WaitingRow(NamedTuple):
    number: int
    reference: str
    subject: str
    last_customer_message_at: datetime | None


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
    """The longest-waiting customers, cached as the inbox's view counts are: under
    the desk's newest ticket id and latest update (a reply that ends a wait shows at
    once), for at most ``INBOX_COUNTS_SECONDS`` (a wait that passes the threshold
    shows within that), once for all desk staff (who all see every ticket)."""
    if not user.is_authenticated or not user.is_desk_staff:
        return {"hidden": True}
    seconds = settings.INBOX_COUNTS_SECONDS
    key = ""
    rows: list[WaitingRow] | None = None
    if seconds > 0:
        latest = Ticket.objects.aggregate(id=Max("id"), at=Max("updated_at"))
        stamp = latest["at"].timestamp() if latest["at"] else 0
        key = f"triage:waiting-panel:{latest['id']}:{stamp}"
        rows = cache.get(key)
    if rows is None:
        rows = [
            WaitingRow(t.number, t.reference, t.subject, t.last_customer_message_at)
            for t in waiting_tickets(user).only(
                "id", "number", "subject", "last_customer_message_at"
            )[: WAITING_PANEL_ROWS + 1]
        ]
        if key:
            cache.set(key, rows, seconds)
    return {
        "tickets": rows[:WAITING_PANEL_ROWS],
        "more": len(rows) > WAITING_PANEL_ROWS,
    }
