"""Sentiment of customers' messages, as cool-down reads it (desk staff only)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from devdesk.tickets.models import Message


class MessageSentiment(models.Model):
    """How a customer's message scored: -1 (furious) to 1 (delighted)."""

    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, related_name="sentiment"
    )
    score = models.FloatField()
    is_angry = models.BooleanField(default=False)
    scored_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.message_id}: {self.score:+.2f}"
