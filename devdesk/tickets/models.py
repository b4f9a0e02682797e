"""Tickets, their conversation, attachments, tags, macros and the append-only event log."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from devdesk.accounts.models import Organization, Team, User


class Product(models.Model):
    """Something the vendor sells and supports: an API, an SDK, a self-hosted server."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.SlugField(max_length=50, unique=True, allow_unicode=True)

    class Meta:
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return self.name


class TicketQuerySet(models.QuerySet["Ticket"]):
    def open(self) -> TicketQuerySet:
        return self.filter(status__in=Ticket.OPEN_STATUSES)

    def pending(self) -> TicketQuerySet:
        return self.filter(status__in=Ticket.PENDING_STATUSES)

    def for_list(self) -> TicketQuerySet:
        """What a list row of the API shows, in a fixed number of queries.

        People and the merge target come in their own small queries rather than as
        more joins: past eight joined tables PostgreSQL spends tens of milliseconds
        planning each page (measured: 40 ms to plan, under 1 ms to run), where a
        few id lookups cost well under one.
        """
        # A row names people; their password hash and dates are not worth reading.
        people = User.objects.only(*User.NAME_FIELDS)
        return self.select_related("organization", "product", "team").prefetch_related(
            models.Prefetch("requester", queryset=people),
            models.Prefetch("owner", queryset=people),
            models.Prefetch("assignee", queryset=people),
            models.Prefetch(
                "merged_into", queryset=Ticket.objects.only("id", "number")
            ),
            "tags",
        )

    def for_inbox(self) -> TicketQuerySet:
        """Only what an inbox row shows (see ``tickets/rows.py``) and what its pages
        are sorted by: no product, team, owner or merge target to read and build."""
        people = User.objects.only(*User.NAME_FIELDS)
        # django-stubs adds ``tag_list`` from the Prefetch below; Ticket declares it.
        return (
            # ``sla``: triage's SLA clocks (one-to-one), for the row's SLA badge.
            self.select_related("organization", "sla")  # type: ignore[no-redef]
            .only(*INBOX_ROW_FIELDS)
            .prefetch_related(
                models.Prefetch("requester", queryset=people),
                models.Prefetch("assignee", queryset=people),
                # A plain list: a related manager per row costs more than the row.
                models.Prefetch("tags", to_attr="tag_list"),
            )
        )


# What an inbox row reads of a ticket (``for_inbox``).
INBOX_ROW_FIELDS = (
    "id",
    "number",
    "subject",
    "status",
    "priority",
    "score",
    "created_at",
    "updated_at",
    "organization__name",
    "requester",
    "assignee",
    "sla__ticket",
    "sla__paused_at",
    "sla__next_due_at",
    "sla__next_warn_at",
    "is_out_of_scope",
    "cooldown_until",
)


class Ticket(models.Model):
    """A support request. ``owner`` is the customer's point of contact and never
    changes on escalation; ``assignee`` is who works on it right now."""

    # The ticket's tags as a list, where ``TicketQuerySet.for_inbox()`` loaded them.
    tag_list: list[Tag]
    # The first message, on a ticket just made by ``services.open_ticket()``.
    opening_message: Message

    class Status(models.TextChoices):
        NEW = "new", "New"
        OPEN = "open", "Open"
        PENDING_CUSTOMER = "pending_customer", "Pending customer"
        PENDING_ENGINEERING = "pending_engineering", "Pending engineering"
        SOLVED = "solved", "Solved"
        CLOSED = "closed", "Closed"

    class Priority(models.IntegerChoices):
        LOW = 1, "Low"
        NORMAL = 2, "Normal"
        HIGH = 3, "High"
        URGENT = 4, "Urgent"

    class Channel(models.TextChoices):
        PORTAL = "portal", "Portal"
        EMAIL = "email", "E-mail"
        API = "api", "API"
        DOCS = "docs", "Docs feedback"
        AGENT = "agent", "Logged by agent"
        CHAT = "chat", "Chat"
        EVENT = "event", "Event / conference"

    class Severity(models.TextChoices):
        """How bad the customer says it is; the desk may correct it."""

        LOW = "low", "Low: a question, or a cosmetic problem"
        NORMAL = "normal", "Normal: something does not work as expected"
        HIGH = "high", "High: a feature is broken, no workaround"
        CRITICAL = "critical", "Critical: we cannot work"

    OPEN_STATUSES: ClassVar = (Status.NEW, Status.OPEN)
    PENDING_STATUSES: ClassVar = (Status.PENDING_CUSTOMER, Status.PENDING_ENGINEERING)
    UNRESOLVED_STATUSES: ClassVar = (*OPEN_STATUSES, *PENDING_STATUSES)

    number = models.PositiveIntegerField(unique=True, editable=False)
    subject = models.CharField(max_length=255)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.NEW)
    priority = models.PositiveSmallIntegerField(
        choices=Priority.choices, default=Priority.NORMAL
    )
    channel = models.CharField(
        max_length=16, choices=Channel.choices, default=Channel.PORTAL
    )
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="tickets"
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="requested_tickets",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_tickets",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    escalated_team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="escalated_tickets",
        help_text="Engineering team working on it; its members can see the ticket.",
    )
    partner_organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="partner_tickets",
        help_text="Certified partner serving it; its agents can see the ticket.",
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")
    followers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="followed_tickets"
    )
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_tickets",
    )
    split_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="split_tickets",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Set by triage (scope and cool-down) and read by anyone without importing it;
    # desk staff only: customers never see them.
    # Database defaults too: bulk loaders write tickets with raw INSERT/COPY.
    is_out_of_scope = models.BooleanField(default=False, db_default=False)
    out_of_scope_reason = models.CharField(
        max_length=300, blank=True, default="", db_default=""
    )
    cooldown_until = models.DateTimeField(null=True, blank=True)
    cooldown_reason = models.CharField(
        max_length=200, blank=True, default="", db_default=""
    )
    # Impact and effort; devdesk.triage.scoring derives ``score`` from them (and the
    # organization's plan) by the team's formula, in the transaction that changes one.
    # (Database defaults too: bulk loads that write rows directly may leave them out.)
    severity = models.CharField(
        max_length=10,
        choices=Severity.choices,
        default=Severity.NORMAL,
        db_default=Severity.NORMAL,
    )
    is_production_down = models.BooleanField(default=False, db_default=False)
    affected_count = models.PositiveIntegerField(
        default=1,
        db_default=1,
        help_text="Customers or installations affected, duplicates included.",
    )
    effort_hours = models.DecimalField(
        max_digits=7, decimal_places=2, null=True, blank=True
    )
    score = models.FloatField(default=0.0, db_default=0.0)

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["-updated_at", "-id"]
        # Each inbox view is "filter on one column, newest first"; these indexes let
        # the database walk straight to a page (keyset pagination), whatever the size.
        indexes: ClassVar = [
            models.Index(fields=["updated_at", "id"], name="ticket_updated"),
            models.Index(
                fields=["status", "updated_at", "id"], name="ticket_status_updated"
            ),
            models.Index(
                fields=["assignee", "status", "updated_at"], name="ticket_assignee"
            ),
            models.Index(fields=["team", "status", "updated_at"], name="ticket_team"),
            models.Index(fields=["organization", "updated_at"], name="ticket_org"),
            models.Index(
                fields=["priority", "updated_at", "id"], name="ticket_priority"
            ),
            models.Index(fields=["created_at", "id"], name="ticket_created"),
            # Inbox views sorted by priority score (highest first).
            models.Index(fields=["score", "id"], name="ticket_score"),
            models.Index(fields=["status", "score", "id"], name="ticket_status_score"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def reference(self) -> str:
        return f"#{self.number}"

    @property
    def is_unresolved(self) -> bool:
        return self.status in self.UNRESOLVED_STATUSES

    def is_cooling_down(self, now: datetime | None = None) -> bool:
        """Whether automatic nudges and auto-replies hold for this ticket now."""
        return self.cooldown_until is not None and self.cooldown_until > (
            now or timezone.now()
        )

    @property
    def in_cooldown(self) -> bool:
        return self.is_cooling_down()


class TicketCounter(models.Model):
    """One row per sequence; gives human-friendly ticket numbers that never repeat."""

    name = models.CharField(max_length=30, unique=True)
    value = models.PositiveIntegerField(default=1000)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class Message(models.Model):
    """One entry in a ticket's conversation: a public reply or an internal note."""

    class Kind(models.TextChoices):
        PUBLIC = "public", "Public reply"
        INTERNAL = "internal", "Internal note"

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="messages"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.PUBLIC)
    body = models.TextField()
    channel = models.CharField(
        max_length=16, choices=Ticket.Channel.choices, default=Ticket.Channel.PORTAL
    )
    # Where a message was first written; merge moves messages and split can move
    # them back, so this is what lets each undo the other.
    origin_ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Set when notifications are claimed for sending, so a task run twice mails once;
    # set at creation for a message nobody is to be told about (a ticket's first).
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["created_at", "id"]
        indexes: ClassVar = [
            models.Index(fields=["ticket", "created_at"], name="message_ticket")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on #{self.ticket.number}"

    @property
    def is_internal(self) -> bool:
        return self.kind == self.Kind.INTERNAL


def attachment_path(instance: Attachment, filename: str) -> str:
    # The stored name is the content hash: user-supplied names never touch the disk.
    return f"attachments/{instance.sha256[:2]}/{instance.sha256}"


class Attachment(models.Model):
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=200)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size_bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.filename


class TicketEvent(models.Model):
    """Append-only history of a ticket: the audit trail and the source of reports."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        MESSAGE_ADDED = "message_added", "Message added"
        STATUS_CHANGED = "status_changed", "Status changed"
        PRIORITY_CHANGED = "priority_changed", "Priority changed"
        OWNER_CHANGED = "owner_changed", "Owner changed"
        ASSIGNEE_CHANGED = "assignee_changed", "Assignee changed"
        TEAM_CHANGED = "team_changed", "Team changed"
        PRODUCT_CHANGED = "product_changed", "Product changed"
        SUBJECT_CHANGED = "subject_changed", "Subject changed"
        TAGS_CHANGED = "tags_changed", "Tags changed"
        FOLLOWERS_CHANGED = "followers_changed", "Followers changed"
        ESCALATED = "escalated", "Escalated"
        ENGINEERING_LINKED = "engineering_linked", "Linked to an engineering issue"
        ENGINEERING_STATUS = "engineering_status", "Engineering issue status changed"
        UPDATE_DRAFTED = "update_drafted", "Customer update drafted"
        UPDATE_DRAFT_SENT = "update_draft_sent", "Drafted customer update sent"
        UPDATE_DRAFT_DISCARDED = "update_draft_discarded", "Drafted update discarded"
        WEBHOOK_DELIVERED = "webhook_delivered", "Escalation webhook delivered"
        WEBHOOK_FAILED = "webhook_failed", "Escalation webhook failed"
        MERGED_INTO = "merged_into", "Merged into another ticket"
        MERGED_FROM = "merged_from", "Another ticket merged in"
        SPLIT_TO = "split_to", "Messages split out"
        SPLIT_FROM = "split_from", "Created by a split"
        MACRO_APPLIED = "macro_applied", "Macro applied"
        NOTIFICATION_FAILED = "notification_failed", "E-mail not sent"
        NOTIFICATION_SENT = "notification_sent", "E-mail sent after a failure"
        SLA_POLICY_CHANGED = "sla_policy_changed", "SLA policy changed"
        SLA_WARNING = "sla_warning", "SLA breach near"
        SLA_BREACHED = "sla_breached", "SLA breached"
        SCOPE_FLAGGED = "scope_flagged", "Flagged out of scope"
        SCOPE_CLEARED = "scope_cleared", "Out-of-scope flag cleared"
        BURST_FOLDED = "burst_folded", "New request folded in"
        COOLDOWN_STARTED = "cooldown_started", "Cool-down started"
        COOLDOWN_ENDED = "cooldown_ended", "Cool-down ended"
        RULE_APPLIED = "rule_applied", "Rule applied"
        ESTIMATE_CHANGED = "estimate_changed", "Impact or effort changed"
        SCORE_CHANGED = "score_changed", "Priority score changed"
        DUPLICATE_LINKED = "duplicate_linked", "Duplicate linked"
        DUPLICATE_UNLINKED = "duplicate_unlinked", "Duplicate unlinked"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["created_at", "id"]
        indexes: ClassVar = [
            models.Index(fields=["ticket", "created_at"], name="event_ticket")
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.ticket_id}"


class Macro(models.Model):
    """A canned reply with placeholders such as ``{{ customer.first_name }}``, and
    optional changes it applies with the reply."""

    name = models.CharField(max_length=100, unique=True)
    body = models.TextField()
    kind = models.CharField(
        max_length=12, choices=Message.Kind.choices, default=Message.Kind.PUBLIC
    )
    set_status = models.CharField(
        max_length=24, choices=Ticket.Status.choices, blank=True
    )
    add_tags = models.CharField(max_length=200, blank=True, help_text="Comma-separated")
    is_active = models.BooleanField(default=True)
    usage_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return self.name


class TicketPresence(models.Model):
    """Who has a ticket open right now, for the collision warning."""

    class Activity(models.TextChoices):
        VIEWING = "viewing", "viewing"
        REPLYING = "replying", "replying"

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="presences"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    activity = models.CharField(max_length=10, choices=Activity.choices)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["ticket", "user"], name="presence_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.activity} {self.ticket_id}"
