"""Defaults of the load."""

from __future__ import annotations

from pathlib import Path

from devdesk.lib.shared_data import shared_data
from devdesk.tickets.models import (
    Ticket,
    TicketEvent,
)

DEFAULT_SEED = 20250601
DEFAULT_BATCH_SIZE = 2000
# Every seeded person signs in with this; public, hence the DEBUG check in the command.
LOAD_PASSWORD = "devdesk-load"  # noqa: S105
SPAN_DAYS = 4 * 365

Status = Ticket.Status
Kind = TicketEvent.Kind


def default_source() -> Path:
    """The shared Apache JIRA tickets, next to the repository checkout."""
    return shared_data("apache-jira-dups-dev/tickets.jsonl")
