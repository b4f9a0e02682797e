from django.apps import AppConfig


class TriageConfig(AppConfig):
    """Triage: impact and effort scoring, the rules engine, SLA policies on business
    calendars, routing, escalation to engineering, scope and cool-down."""

    name = "devdesk.triage"
    label = "triage"

    def ready(self) -> None:
        from devdesk.tickets.events import subscribe
        from devdesk.triage.rules.engine import EVENT_TRIGGERS, on_ticket_event

        # Event-triggered rules run after the commit that wrote the event.
        for kind in EVENT_TRIGGERS:
            subscribe(kind, on_ticket_event)
