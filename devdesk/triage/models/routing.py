"""Routing: agents' skills, ordered routing rules to teams, and each team's way of
choosing a person."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

from devdesk.accounts.models import Organization, Team
from devdesk.tickets.models import Product


class Skill(models.Model):
    """Something an agent is good at: a product area, a language, a platform."""

    name = models.CharField(max_length=60, unique=True)

    class Meta:
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return self.name


class AgentSkill(models.Model):
    """``user`` has ``skill``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="skills"
    )
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="agents")

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "skill"], name="agent_skill_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.skill_id}"


class RoutingRule(models.Model):
    """When a new ticket matches every condition that is set (any product listed,
    any language listed, any organization listed), it goes to ``team``, to a member
    who has every required skill. Rules are tried by ``position``; the first match
    wins."""

    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    products = models.ManyToManyField(Product, blank=True, related_name="+")
    # Comma-separated language codes ("de, fr"); empty: any language.
    languages = models.CharField(max_length=200, blank=True)
    organizations = models.ManyToManyField(Organization, blank=True, related_name="+")
    required_skills = models.ManyToManyField(Skill, blank=True, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering: ClassVar = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def language_list(self) -> list[str]:
        return [c.strip().lower() for c in self.languages.split(",") if c.strip()]


class TeamRouting(models.Model):
    """How a team hands its tickets to a person."""

    class Method(models.TextChoices):
        ROUND_ROBIN = "round_robin", "Round-robin"
        LEAST_OPEN = "least_open", "Least open load"
        ON_SHIFT = "on_shift", "The person on shift"
        NOBODY = "nobody", "Nobody (the team picks)"

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="routing")
    method = models.CharField(
        max_length=16, choices=Method.choices, default=Method.ROUND_ROBIN
    )
    # Round-robin: who got the team's last ticket.
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    def __str__(self) -> str:
        return f"{self.team_id}: {self.method}"


class RoutingPolicy(models.Model):
    """The desk's one routing policy (row ``pk=1``): where a ticket no rule matches
    goes."""

    default_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return "Routing policy"
