from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "devdesk.search"
    label = "search"
