from django.contrib import admin

from devdesk.tickets.models import (
    Attachment,
    Macro,
    Message,
    Product,
    Tag,
    Ticket,
    TicketEvent,
)


class MessageInline(admin.StackedInline[Message, Ticket]):
    model = Message
    fk_name = "ticket"
    extra = 0
    fields = ("author", "kind", "channel", "body", "created_at")
    raw_id_fields = ("author",)
    show_change_link = True


class EventInline(admin.TabularInline[TicketEvent, Ticket]):
    model = TicketEvent
    extra = 0
    fields = ("created_at", "kind", "actor", "data")
    readonly_fields = fields
    can_delete = False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin[Ticket]):
    list_display = (
        "number",
        "subject",
        "status",
        "priority",
        "organization",
        "assignee",
        "updated_at",
    )
    list_filter = ("status", "priority", "channel", "product")
    search_fields = ("=number", "subject")
    raw_id_fields = (
        "requester",
        "owner",
        "assignee",
        "merged_into",
        "split_from",
        "organization",
        "partner_organization",
    )
    filter_horizontal = ("tags", "followers")
    readonly_fields = ("number",)
    inlines = (MessageInline, EventInline)
    show_full_result_count = False  # no COUNT(*) over a million rows per page


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin[Product]):
    list_display = ("name", "slug", "is_active")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin[Tag]):
    search_fields = ("name",)


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin[Macro]):
    list_display = (
        "name",
        "kind",
        "set_status",
        "add_tags",
        "usage_count",
        "is_active",
    )


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin[Attachment]):
    list_display = ("filename", "content_type", "size_bytes", "created_at")
    raw_id_fields = ("message",)
