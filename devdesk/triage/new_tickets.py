"""What triage does with a ticket just opened (a ``created`` subscriber, run after
the opening commits): give it its score if nothing did yet (a split ticket), then
route it."""

from __future__ import annotations

from django.db import transaction

from devdesk.tickets.models import Ticket, TicketEvent
from devdesk.triage.routing import route
from devdesk.triage.scoring import recompute_score


def on_ticket_created(event: TicketEvent) -> None:
    """Score (when not scored by :func:`devdesk.intake.services.submit`) and route."""
    ticket = (
        Ticket.objects.select_related("organization", "requester", "team")
        .filter(pk=event.ticket_id)
        .first()
    )
    if ticket is None:
        return
    with transaction.atomic():
        recompute_score(ticket, reason="created")
    route(ticket)
