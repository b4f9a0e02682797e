"""Triage's tables, one module per part (each part adds its import here)."""

from devdesk.triage.models.cooldown import MessageSentiment
from devdesk.triage.models.scope import PlanCoverage, ScopeArea, ScopeFlag

__all__ = ["MessageSentiment", "PlanCoverage", "ScopeArea", "ScopeFlag"]
