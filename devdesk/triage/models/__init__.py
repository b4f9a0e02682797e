"""Triage's tables, one module per part (each part adds its import here)."""

from devdesk.triage.models.escalation import (  # noqa: F401 - the app's tables
    CustomerUpdateDraft,
    EngineeringIssue,
    EngineeringIssueLink,
    InboundDelivery,
    TrackerKind,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
