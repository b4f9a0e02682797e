from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "devdesk.accounts"
    label = "accounts"
