"""Django admin for escalation: tracker webhook endpoints, outgoing deliveries with
every attempt (and a "send again" action), inbound deliveries, engineering issues."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from devdesk.triage.escalation.outgoing import retry_delivery_now
from devdesk.triage.models import (
    CustomerUpdateDraft,
    EngineeringIssue,
    EngineeringIssueLink,
    InboundDelivery,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    list_display = ("name", "tracker", "url", "is_active", "inbound_url")
    list_filter = ("tracker", "is_active")
    readonly_fields = ("inbound_url",)

    @admin.display(description="Tracker webhook URL (configure it in the tracker)")
    def inbound_url(self, obj: WebhookEndpoint) -> str:
        if obj.pk is None:
            return "shown once saved"
        from django.conf import settings

        return settings.SITE_URL + reverse(
            "hooks:tracker", args=[obj.tracker, str(obj.pk)]
        )


class AttemptInline(admin.TabularInline[WebhookAttempt, WebhookDelivery]):
    model = WebhookAttempt
    extra = 0
    fields = (
        "number",
        "attempted_at",
        "status_code",
        "error",
        "duration_ms",
        "next_attempt_at",
    )
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    list_display = (
        "created_at",
        "event",
        "endpoint",
        "ticket_link",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
    )
    list_filter = ("status", "endpoint")
    readonly_fields = (
        "uid",
        "endpoint",
        "event",
        "issue",
        "ticket",
        "body",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
    )
    inlines = (AttemptInline,)
    actions = ("send_again",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Ticket")
    def ticket_link(self, obj: WebhookDelivery) -> SafeString | str:
        if obj.ticket is None:
            return "—"
        url = reverse("desk:ticket-detail", args=[obj.ticket.number])
        return format_html('<a href="{}">{}</a>', url, obj.ticket.reference)

    @admin.action(description="Send again now (failed or waiting deliveries)")
    def send_again(
        self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]
    ) -> None:
        count = 0
        for delivery in queryset:
            if delivery.status in {
                WebhookDelivery.Status.FAILED,
                WebhookDelivery.Status.RETRYING,
            }:
                retry_delivery_now(delivery)
                count += 1
        self.message_user(request, f"{count} queued to send again.", messages.INFO)


@admin.register(InboundDelivery)
class InboundDeliveryAdmin(admin.ModelAdmin[InboundDelivery]):
    list_display = ("received_at", "endpoint", "event", "delivery_id", "outcome")
    list_filter = ("endpoint",)
    readonly_fields = ("endpoint", "delivery_id", "event", "received_at", "outcome")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class LinkInline(admin.TabularInline[EngineeringIssueLink, EngineeringIssue]):
    model = EngineeringIssueLink
    extra = 0
    fields = ("ticket", "reason", "linked_by", "linked_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(EngineeringIssue)
class EngineeringIssueAdmin(admin.ModelAdmin[EngineeringIssue]):
    """Key, URL and title may be corrected here; the status changes on the desk's
    issue page (so linked tickets are told)."""

    list_display = ("__str__", "tracker", "status", "team", "updated_at")
    list_filter = ("tracker", "status", "team")
    search_fields = ("external_key", "title")
    readonly_fields = ("status", "created_by", "created_at", "updated_at")
    inlines = (LinkInline,)


@admin.register(CustomerUpdateDraft)
class CustomerUpdateDraftAdmin(admin.ModelAdmin[CustomerUpdateDraft]):
    list_display = ("ticket", "issue", "issue_status", "status", "created_at")
    list_filter = ("status",)
    readonly_fields = ("ticket", "issue", "issue_status", "status", "message")
