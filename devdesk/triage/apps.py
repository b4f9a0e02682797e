from django.apps import AppConfig


class TriageConfig(AppConfig):
    """Triage: impact and effort scoring, the rules engine, SLA policies on business
    calendars, routing, escalation to engineering, scope and cool-down."""

    name = "devdesk.triage"
    label = "triage"

    def ready(self) -> None:
        from devdesk.triage.sla import subscriptions

        subscriptions.connect()
