from django.apps import AppConfig


class TriageConfig(AppConfig):
    """Triage: impact and effort scoring, the rules engine, SLA policies on business
    calendars, routing, escalation to engineering, scope and cool-down."""

    name = "devdesk.triage"
    label = "triage"

    def ready(self) -> None:
        from devdesk.tickets.events import subscribe
        from devdesk.tickets.models import TicketEvent
        from devdesk.triage import cooldown, scope
        from devdesk.triage.new_tickets import on_product_changed, on_ticket_created
        from devdesk.triage.rules.engine import EVENT_TRIGGERS, on_ticket_event
        from devdesk.triage.sla import subscriptions

        subscriptions.connect()
        # After commit: a new ticket's scope is checked, a customer's message scored.
        subscribe(TicketEvent.Kind.CREATED, scope.on_ticket_created)
        subscribe(TicketEvent.Kind.MESSAGE_ADDED, cooldown.on_message_added)
        # Event-triggered rules run after the commit that wrote the event.
        for kind in EVENT_TRIGGERS:
            subscribe(kind, on_ticket_event)
        # New tickets are scored and routed; a product change rescores.
        subscribe(TicketEvent.Kind.CREATED, on_ticket_created)
        subscribe(TicketEvent.Kind.PRODUCT_CHANGED, on_product_changed)
