"""Triage's Django admin pages, one module per part."""

from devdesk.triage import admin_escalation  # noqa: F401 - registers its pages
