from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running the desk: the server command and the demo desk."""

    name = "devdesk.ops"
    label = "ops"
