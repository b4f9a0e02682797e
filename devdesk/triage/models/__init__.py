"""Triage's tables, one module per part (each part adds its import here)."""

from devdesk.triage.models.rules import Rule, RuleFiring, RuleSetVersion

__all__ = ["Rule", "RuleFiring", "RuleSetVersion"]
