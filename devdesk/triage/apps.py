from django.apps import AppConfig


class TriageConfig(AppConfig):
    """Triage: impact and effort scoring, the rules engine, SLA policies on business
    calendars, routing, escalation to engineering, scope and cool-down."""

    name = "devdesk.triage"
    label = "triage"

    def ready(self) -> None:
        from devdesk.tickets.events import subscribe
        from devdesk.tickets.models import TicketEvent
        from devdesk.triage.new_tickets import on_product_changed, on_ticket_created

        subscribe(TicketEvent.Kind.CREATED, on_ticket_created)
        subscribe(TicketEvent.Kind.PRODUCT_CHANGED, on_product_changed)
