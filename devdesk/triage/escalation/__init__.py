"""Escalation to engineering: teams, trackers (GitHub, Jira, Linear) by webhook,
engineering issues shared by several tickets, and the customer update drafted
when a fix ships. :func:`escalate` is what the desk, the API and the rules engine
call."""

from devdesk.triage.escalation.issues import (
    discard_update_draft,
    escalate,
    send_update_draft,
    set_issue_status,
)

__all__ = ["discard_update_draft", "escalate", "send_update_draft", "set_issue_status"]
