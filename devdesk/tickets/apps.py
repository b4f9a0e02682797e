from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "devdesk.tickets"
    label = "tickets"

    def ready(self) -> None:
        # Notifications subscribe to the ticket event hook.
        from devdesk.tickets import notifications  # noqa: F401
