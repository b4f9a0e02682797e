"""Impact x effort: the team's scoring policy, duplicate links, and the daily
"customers waiting" digests already sent."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from devdesk.tickets.models import Ticket

# Impact divided by effort: see the README ("Impact x effort") for the reasoning.
DEFAULT_FORMULA = (
    "affected * plan_weight * severity_weight * (3 if production_down else 1)"
    " / max(effort, 0.5)"
)


def default_plan_weights() -> dict[str, float]:
    return {"enterprise": 3.0, "insurance": 2.0, "per-incident": 1.5, "community": 0.5}


def default_severity_weights() -> dict[str, float]:
    return {"low": 0.5, "normal": 1.0, "high": 2.0, "critical": 4.0}


class ScoringPolicy(models.Model):
    """The desk's one scoring policy (row ``pk=1``), edited by admins in the desk
    settings page and the API. :func:`devdesk.triage.scoring.current_policy` makes it
    with the defaults on first use."""

    formula = models.CharField(max_length=500, default=DEFAULT_FORMULA)
    # Organization.plan (case-insensitive) -> weight; a plan not listed weighs 1.
    plan_weights = models.JSONField(default=default_plan_weights)
    # Ticket.Severity value -> weight.
    severity_weights = models.JSONField(default=default_severity_weights)
    # The effort assumed when the agent set none and no solved ticket of the same
    # product tells better.
    default_effort_hours = models.DecimalField(
        max_digits=7, decimal_places=2, default=2
    )
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name_plural = "scoring policy"

    def __str__(self) -> str:
        return "Scoring policy"

    def plan_weight(self, plan: str) -> float:
        weights: dict[str, Any] = self.plan_weights or {}
        lowered = {str(k).strip().lower(): v for k, v in weights.items()}
        return float(lowered.get(plan.strip().lower(), 1.0))

    def severity_weight(self, severity: str) -> float:
        weights: dict[str, Any] = self.severity_weights or {}
        return float(weights.get(severity, 1.0))


class DuplicateLink(models.Model):
    """``duplicate`` reports the same problem as ``original``. Unlike a merge, both
    stay tickets with their own conversation; the original's affected count grows
    by the duplicate's."""

    duplicate = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, related_name="duplicate_link"
    )
    original = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="duplicate_links"
    )
    # What the link added to the original's affected count, taken back on unlinking.
    added_count = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=~models.Q(duplicate=models.F("original")),
                name="duplicate_not_itself",
            )
        ]

    def __str__(self) -> str:
        return f"{self.duplicate_id} duplicates {self.original_id}"


class WaitingDigest(models.Model):
    """One daily "customers waiting" e-mail to one person: the row is claimed before
    the mail goes out, so the task run twice a day mails once."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField()
    ticket_count = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["recipient", "day"], name="waiting_digest_once_a_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} {self.day}"
