"""What triage does after ticket events it does not write itself (subscribers, run
after the change commits): a ticket just opened gets its score if nothing gave it
one yet (a split ticket) and is routed; a ticket whose product changed is rescored
(the default effort is the product's)."""

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
    if not ticket.score:  # intake.submit() scores what it opens
        with transaction.atomic():
            recompute_score(ticket, reason="created")
    route(ticket)


def on_product_changed(event: TicketEvent) -> None:
    """Rescore: without an estimate, the effort is the new product's median."""
    ticket = (
        Ticket.objects.select_related("organization").filter(pk=event.ticket_id).first()
    )
    if ticket is None:
        return
    with transaction.atomic():
        recompute_score(ticket, reason="product changed", acting_user=event.actor)
