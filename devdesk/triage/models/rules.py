"""The rules engine's tables: rules, what they fired on, and the rule-set version.

A rule's conditions and actions are JSON lists checked against the registry
(:mod:`devdesk.triage.rules.registry`) whenever a rule is saved, so what is stored is
always something the engine understands.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from devdesk.tickets.models import Ticket


class Rule(models.Model):
    """When <trigger>, if <all/any conditions>, do <actions>; rules of one trigger run
    in ``position`` order and one may stop those after it."""

    class Trigger(models.TextChoices):
        TICKET_CREATED = "ticket_created", "Ticket created"
        MESSAGE_ADDED = "message_added", "Message added"
        STATUS_CHANGED = "status_changed", "Status changed"
        TIME_BASED = "time_based", "Time-based (checked every few minutes)"

    class Match(models.TextChoices):
        ALL = "all", "All conditions"
        ANY = "any", "Any condition"

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    match = models.CharField(max_length=3, choices=Match.choices, default=Match.ALL)
    # [{"type": "priority", "op": "is", "value": 4}, …]
    conditions = models.JSONField(default=list, blank=True)
    # [{"type": "add_tag", "value": ["prod-down"]}, …]
    actions = models.JSONField(default=list)
    position = models.PositiveIntegerField(default=0)
    stop_processing = models.BooleanField(
        default=False, help_text="When this rule fires, later rules are not run."
    )
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["trigger", "position", "id"]
        indexes: ClassVar = [
            models.Index(fields=["trigger", "is_active", "position"], name="rule_order")
        ]

    def __str__(self) -> str:
        return self.name


class RuleFiring(models.Model):
    """That a rule fired on a ticket for one episode: the triggering event
    (``event:<id>``) or, for time-based rules, the stretch of time its time
    conditions measure (say the moment the ticket became pending). The unique row is
    what makes a rule fire at most once per event and per episode, however often
    the periodic pass runs."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="firings")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    episode_key = models.CharField(max_length=200)
    fired_at = models.DateTimeField(default=timezone.now)
    # Set when its "notify" mail is claimed for sending, so a task run twice mails once.
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["rule", "ticket", "episode_key"], name="rule_fires_once"
            )
        ]

    def __str__(self) -> str:
        return f"rule {self.rule_id} on {self.ticket_id} ({self.episode_key})"


class RuleSetVersion(models.Model):
    """One row whose value goes up with every change to any rule: each process
    compares it (one indexed read per event) with the version of the rules it has
    compiled, so a save in the web process is seen by the workers at once."""

    value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return str(self.value)
