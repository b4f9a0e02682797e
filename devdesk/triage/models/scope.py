"""The product catalog's triage side: what each plan covers, what is explicitly not
supported, and why a ticket was flagged out of scope."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from devdesk.tickets.models import Product, Ticket


class PlanCoverage(models.Model):
    """One product a support plan covers (``Organization.plan`` names the plan).

    A plan with no rows is not described by the catalog, and nothing is flagged by
    it; once a plan has rows, a ticket about any other product is out of scope."""

    plan = models.CharField(max_length=40, help_text="As in Organization.plan")
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="plan_coverage"
    )
    versions = models.CharField(
        max_length=100, blank=True, help_text="e.g. 4.x, 5.x; empty: every version"
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering: ClassVar = ["plan", "product__name"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["plan", "product"], name="coverage_once")
        ]

    def __str__(self) -> str:
        return f"{self.plan}: {self.product}"


class ScopeArea(models.Model):
    """An area the desk explicitly does or does not support.

    Not-supported areas are what the decline macro names, with where to go
    instead; their ``slug`` matches the classifier's labels (``other-hosting``,
    ``own-server``, ``unsold-product``, ``general-programming``), and each of their
    ``phrases`` (one a line) in a ticket flags it as a rule of the catalog."""

    class Kind(models.TextChoices):
        SUPPORTED = "supported", "Supported"
        NOT_SUPPORTED = "not_supported", "Not supported"

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    product = models.ForeignKey(
        Product,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="scope_areas",
        help_text="The product a supported area belongs to",
    )
    description = models.TextField(blank=True)
    where_instead = models.TextField(
        blank=True, help_text="Where to go instead (for not-supported areas)"
    )
    phrases = models.TextField(
        blank=True, help_text="One a line; a ticket mentioning one is out of scope"
    )

    class Meta:
        ordering: ClassVar = ["kind", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def phrase_list(self) -> list[str]:
        return [p.strip().lower() for p in self.phrases.splitlines() if p.strip()]


class ScopeFlag(models.Model):
    """Why a ticket is out of scope: the catalog rule, phrase or classifier that
    said so (or the agent), and the area, which the decline macro names."""

    class Source(models.TextChoices):
        CATALOG = "catalog", "Product not covered by the plan"
        PHRASE = "phrase", "Not-supported phrase"
        CLASSIFIER = "classifier", "Text classifier"
        AGENT = "agent", "Agent"

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, related_name="scope_flag"
    )
    area = models.ForeignKey(
        ScopeArea, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=12, choices=Source.choices)
    reason = models.CharField(max_length=300)
    probability = models.FloatField(null=True, blank=True)
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    flagged_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.reason}"
