from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "devdesk.intake"
    label = "intake"
