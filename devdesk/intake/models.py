"""What intake remembers so that a retried submission never makes two tickets."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone


class IdempotencyKey(models.Model):
    """A client's ``Idempotency-Key`` and the ticket its first request created."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once")
        ]

    def __str__(self) -> str:
        return self.key


class Mailbox(models.Model):
    """A support address. Mail to it lands in the desk, with its product and team
    (when set) on the new tickets; replies go out with it as Reply-To.

    The IMAP fields are for ``devdesk mail-poll``; leave ``imap_host`` empty for an
    address whose mail is delivered to ``devdesk mail-receive`` instead."""

    address = models.EmailField(unique=True)
    name = models.CharField(max_length=100, blank=True, help_text="Shown as the sender")
    product = models.ForeignKey(
        "tickets.Product", null=True, blank=True, on_delete=models.SET_NULL
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL
    )
    is_default = models.BooleanField(
        default=False, help_text="Replies on tickets from other channels use this one"
    )
    is_active = models.BooleanField(default=True)
    imap_host = models.CharField(max_length=255, blank=True)
    imap_port = models.PositiveIntegerField(default=993)
    imap_ssl = models.BooleanField(default=True)
    imap_username = models.CharField(max_length=255, blank=True)
    imap_password = models.CharField(max_length=255, blank=True)
    imap_folder = models.CharField(max_length=255, default="INBOX")
    # Where a stored message is moved; empty: it is only flagged \Seen.
    imap_done_folder = models.CharField(max_length=255, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_poll_error = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "mailboxes"

    def __str__(self) -> str:
        return self.address

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.address = self.address.strip().lower()
        super().save(*args, **kwargs)


class InboundEmail(models.Model):
    """One message as it arrived, stored before anything reads it.

    ``raw`` is kept for audit and re-processing; ``outcome`` says what became of it.
    A message whose processing failed half-way stays ``received`` and is picked up
    again by ``process_pending_mail``; one that cannot be parsed is ``quarantined``
    with the reason, listed for admins with a retry action."""

    class Source(models.TextChoices):
        LMTP = "lmtp", "LMTP"
        SMTP = "smtp", "SMTP"
        IMAP = "imap", "IMAP"
        IMPORT = "import", "Import"

    class Outcome(models.TextChoices):
        RECEIVED = "received", "Received, not processed yet"
        TICKET = "ticket", "New ticket"
        REPLY = "reply", "Added to a ticket"
        SUPPRESSED = "suppressed", "Suppressed (auto-reply, bounce)"
        DUPLICATE = "duplicate", "Duplicate"
        QUARANTINED = "quarantined", "Quarantined"
        REFUSED = "refused", "Refused (over a limit)"

    class Kind(models.TextChoices):
        NORMAL = "normal", "Person"
        AUTO_REPLY = "auto_reply", "Auto-reply"
        BOUNCE = "bounce", "Bounce"
        BULK = "bulk", "List or bulk"

    mailbox = models.ForeignKey(
        Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=8, choices=Source.choices)
    envelope_from = models.CharField(max_length=998, blank=True)
    recipients = models.TextField(
        blank=True, help_text="Envelope recipients, one a line"
    )
    raw = models.BinaryField()
    size_bytes = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, db_index=True)
    message_id = models.CharField(max_length=998, blank=True, db_index=True)
    subject = models.CharField(max_length=998, blank=True)
    from_address = models.CharField(max_length=320, blank=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, blank=True)
    outcome = models.CharField(
        max_length=12, choices=Outcome.choices, default=Outcome.RECEIVED
    )
    reason = models.TextField(blank=True, help_text="Why it was quarantined or refused")
    ticket = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_emails",
    )
    ticket_message = models.ForeignKey(
        "tickets.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["outcome", "received_at"], name="inbound_outcome")
        ]

    def __str__(self) -> str:
        return self.subject or self.message_id or f"inbound {self.pk}"


class EmailThreadId(models.Model):
    """A Message-ID the desk knows, in or out, and the ticket it belongs to: a reply
    whose In-Reply-To or References names one joins that ticket."""

    class Direction(models.TextChoices):
        INBOUND = "in", "Received"
        OUTBOUND = "out", "Sent"

    message_id = models.CharField(max_length=998, unique=True)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="+"
    )
    ticket_message = models.ForeignKey(
        "tickets.Message",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    direction = models.CharField(max_length=3, choices=Direction.choices)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.message_id


class BouncedAddress(models.Model):
    """An address that mail from the desk bounced from; shown on the person and the
    ticket so an agent knows the customer did not get the reply."""

    address = models.EmailField(unique=True)
    bounces = models.PositiveIntegerField(default=0)
    last_bounced_at = models.DateTimeField(default=timezone.now)
    last_reason = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "bounced addresses"

    def __str__(self) -> str:
        return self.address


class AutomaticReply(models.Model):
    """An automatic answer the desk sent to inbound mail. Counted per address to
    rate-limit answers (a loop breaker even for an auto-responder that does not say
    it is one), and unique per message and kind, so a task run twice answers once."""

    class Kind(models.TextChoices):
        ACKNOWLEDGEMENT = "acknowledgement", "New ticket acknowledged"
        LIMIT = "limit", "Over a limit"

    address = models.CharField(max_length=320)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    inbound = models.ForeignKey(
        InboundEmail, on_delete=models.CASCADE, related_name="automatic_replies"
    )
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["inbound", "kind"], name="automatic_reply_once"
            )
        ]
        indexes: ClassVar = [
            models.Index(fields=["address", "sent_at"], name="automatic_reply_address")
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.address}"
