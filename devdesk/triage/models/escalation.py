"""Escalation to engineering: engineering issues and the tickets linked to them,
webhook endpoints of trackers (GitHub, Jira, Linear), outgoing deliveries with each
attempt, inbound deliveries seen (for replay protection), and drafted customer
updates for when a fix ships."""

from __future__ import annotations

import secrets
import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from devdesk.accounts.models import Team
from devdesk.tickets.models import Message, Ticket


class TrackerKind(models.TextChoices):
    """Where an engineering issue lives."""

    INTERNAL = "internal", "devdesk (engineering team)"
    GITHUB = "github", "GitHub"
    JIRA = "jira", "Jira"
    LINEAR = "linear", "Linear"


def new_secret() -> str:
    return secrets.token_hex(32)


class WebhookEndpoint(models.Model):
    """A tracker integration configured by an admin.

    Escalations to it are POSTed as signed JSON to ``url``; the tracker's own
    webhooks come back to ``/hooks/<tracker>/<id>/``, signed with the same secret.
    """

    TRACKERS: ClassVar = [c for c in TrackerKind.choices if c[0] != "internal"]

    name = models.CharField(max_length=100)
    tracker = models.CharField(max_length=16, choices=TRACKERS)
    url = models.URLField(
        max_length=500, help_text="Where escalations are POSTed (signed JSON)."
    )
    secret = models.CharField(
        max_length=200,
        default=new_secret,
        help_text="Signs outgoing deliveries and verifies the tracker's webhooks.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_tracker_display()})"


class EngineeringIssue(models.Model):
    """A problem engineering works on: a team's internal issue or one in a tracker.
    Several tickets can link to it."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        FIXED = "fixed", "Fixed"
        RELEASED = "released", "Released"
        CLOSED = "closed", "Closed"

    # Reaching one of these tells every linked ticket's owner and drafts an update.
    SHIPPED_STATUSES: ClassVar = (Status.FIXED, Status.RELEASED)

    tracker = models.CharField(
        max_length=16, choices=TrackerKind.choices, default=TrackerKind.INTERNAL
    )
    external_key = models.CharField(
        max_length=200,
        blank=True,
        help_text="owner/repo#123 on GitHub, PROJ-42 on Jira, ENG-7 on Linear.",
    )
    url = models.URLField(max_length=500, blank=True)
    title = models.CharField(max_length=255)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.OPEN
    )
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="engineering_issues",
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="issues",
    )
    tickets = models.ManyToManyField(
        Ticket, through="EngineeringIssueLink", related_name="engineering_issues"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["-updated_at", "-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["tracker", "external_key"],
                condition=~Q(external_key=""),
                name="engineering_issue_key_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        """``acme/sdk#42``, ``PAY-12``, or ``EI-7`` for one without a tracker key."""
        return self.external_key or f"EI-{self.pk}"

    @property
    def marker(self) -> str:
        """A line a tracker issue's body carries so its webhooks find this issue."""
        return f"devdesk-engineering-issue: {self.pk}"

    @property
    def is_shipped(self) -> bool:
        return self.status in self.SHIPPED_STATUSES


class EngineeringIssueLink(models.Model):
    """A ticket waiting on an engineering issue."""

    issue = models.ForeignKey(
        EngineeringIssue, on_delete=models.CASCADE, related_name="links"
    )
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="engineering_links"
    )
    reason = models.TextField(blank=True)
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    linked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["linked_at", "id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["issue", "ticket"], name="issue_link_once")
        ]

    def __str__(self) -> str:
        return f"{self.issue_id} ↔ {self.ticket_id}"


class WebhookDelivery(models.Model):
    """One signed POST of an event to an endpoint, tried until it succeeds or the
    attempts run out. The body is fixed when the delivery is made, so every attempt
    sends the same bytes (with a fresh timestamp and signature)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        RETRYING = "retrying", "Waiting to retry"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed (gave up)"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=50)
    issue = models.ForeignKey(
        EngineeringIssue,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
    )
    ticket = models.ForeignKey(
        Ticket,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="webhook_deliveries",
    )
    body = models.TextField()
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes: ClassVar = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due")
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One try of a delivery: what the receiver answered, or why it could not."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField()
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"


class InboundDelivery(models.Model):
    """A tracker webhook accepted once; a second one with the same id is a replay."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="inbound"
    )
    delivery_id = models.CharField(max_length=200)
    event = models.CharField(max_length=100, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering: ClassVar = ["-received_at", "-id"]
        verbose_name_plural = "inbound deliveries"
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["endpoint", "delivery_id"], name="inbound_delivery_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.endpoint_id}:{self.delivery_id}"


class CustomerUpdateDraft(models.Model):
    """A reply to the customer prepared when a fix ships. It waits for the ticket's
    owner to edit and send it; nothing sends it by itself."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENT = "sent", "Sent"
        DISCARDED = "discarded", "Discarded"

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="update_drafts"
    )
    issue = models.ForeignKey(
        EngineeringIssue, on_delete=models.CASCADE, related_name="update_drafts"
    )
    issue_status = models.CharField(
        max_length=16, choices=EngineeringIssue.Status.choices
    )
    body = models.TextField()
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.DRAFT
    )
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["ticket", "issue"],
                condition=Q(status="draft"),
                name="one_open_update_draft",
            )
        ]

    def __str__(self) -> str:
        return f"update draft on {self.ticket_id} ({self.status})"
