from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "devdesk.api"
    label = "api"
