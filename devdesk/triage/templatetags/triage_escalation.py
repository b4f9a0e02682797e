"""The escalation parts of the desk's ticket page: the linked engineering issues
with the "Escalate" form, and the drafted customer updates."""

from __future__ import annotations

from typing import Any

from django import template

from devdesk.triage.escalation import access
from devdesk.triage.forms_escalation import EscalationForm
from devdesk.triage.models import CustomerUpdateDraft

register = template.Library()


@register.inclusion_tag("triage/escalation/_ticket_panel.html", takes_context=True)
def escalation_panel(context: template.Context) -> dict[str, Any]:
    """Linked issues (for those who may see them) and the form (for those who may
    escalate); ``escalation_form`` in the page's context is a bound one to show
    again with its errors."""
    ticket = context["ticket"]
    user = context["request"].user
    issues = (
        access.visible_issues(user)
        .filter(links__ticket=ticket)
        .select_related("team")
        .order_by("pk")
    )
    may_escalate = access.can_escalate(user, ticket) and context.get("can_write")
    legacy = context.get("escalate_form")
    return {
        "ticket": ticket,
        "issues": list(issues),
        "may_escalate": may_escalate,
        "form": context.get("escalation_form") or EscalationForm(),
        "legacy_errors": legacy.errors if legacy is not None and legacy.errors else {},
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("triage/escalation/_ticket_drafts.html", takes_context=True)
def escalation_drafts(context: template.Context) -> dict[str, Any]:
    """The open drafted updates, for desk staff only."""
    ticket = context["ticket"]
    user = context["request"].user
    drafts: list[CustomerUpdateDraft] = []
    if access.can_work_drafts(user, ticket):
        drafts = list(
            ticket.update_drafts.filter(
                status=CustomerUpdateDraft.Status.DRAFT
            ).select_related("issue")
        )
    return {
        "ticket": ticket,
        "drafts": drafts,
        "can_write": context.get("can_write"),
        "csrf_token": context.get("csrf_token"),
    }
