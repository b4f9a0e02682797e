"""Triage's Django admin pages, one module per part."""

from devdesk.triage import admin_cooldown, admin_escalation  # noqa: F401 - registers
