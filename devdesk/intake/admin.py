from django import forms
from django.contrib import admin

from devdesk.intake.models import BouncedAddress, Mailbox

IMAP_FIELDS = (
    "imap_host",
    "imap_port",
    "imap_ssl",
    "imap_username",
    "imap_password",
    "imap_folder",
    "imap_done_folder",
)


class MailboxForm(forms.ModelForm[Mailbox]):
    """The IMAP password is written, never shown again; left empty, it stays."""

    class Meta:
        model = Mailbox
        fields = (
            "address",
            "name",
            "product",
            "team",
            "is_default",
            "is_active",
            *IMAP_FIELDS,
        )
        widgets = {"imap_password": forms.PasswordInput()}

    def clean_imap_password(self) -> str:
        password = str(self.cleaned_data.get("imap_password") or "")
        return password or (self.instance.imap_password if self.instance.pk else "")


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin[Mailbox]):
    form = MailboxForm
    list_display = ("address", "name", "product", "team", "is_default", "is_active")
    list_filter = ("is_active", "is_default")
    search_fields = ("address", "name")
    readonly_fields = ("last_polled_at", "last_poll_error")
    fieldsets = (
        (None, {"fields": ("address", "name", "product", "team")}),
        ("Use", {"fields": ("is_default", "is_active")}),
        (
            "IMAP polling (leave the host empty for mail delivered by mail-receive)",
            {"fields": (*IMAP_FIELDS, "last_polled_at", "last_poll_error")},
        ),
    )


@admin.register(BouncedAddress)
class BouncedAddressAdmin(admin.ModelAdmin[BouncedAddress]):
    list_display = ("address", "bounces", "last_bounced_at", "last_reason")
    search_fields = ("address",)
