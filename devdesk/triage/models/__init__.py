"""Triage's tables, one module per part (each part adds its import here)."""

from devdesk.triage.models.routing import (
    AgentSkill,
    RoutingPolicy,
    RoutingRule,
    Skill,
    TeamRouting,
)
from devdesk.triage.models.scoring import DuplicateLink, ScoringPolicy, WaitingDigest

__all__ = [
    "AgentSkill",
    "DuplicateLink",
    "RoutingPolicy",
    "RoutingRule",
    "ScoringPolicy",
    "Skill",
    "TeamRouting",
    "WaitingDigest",
]
