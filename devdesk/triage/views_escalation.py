"""Escalation pages: escalate from the ticket page, work drafted customer updates,
the engineering-issues list and page, and the trackers' inbound webhooks.

Each view reads like a recipe: parse (form) → lookup (access) → service →
redirect; a refusal shows the page again with the reason and nothing written.
"""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from devdesk.accounts.models import User
from devdesk.lib.guards import signed_in_and
from devdesk.tickets import access as ticket_access
from devdesk.tickets.errors import TicketError
from devdesk.tickets.models import Ticket
from devdesk.tickets.views.desk import render_ticket
from devdesk.triage.escalation import access, inbound
from devdesk.triage.escalation.issues import (
    discard_update_draft,
    escalate,
    send_update_draft,
    set_issue_status,
)
from devdesk.triage.forms_escalation import DraftForm, EscalationForm, IssueStatusForm
from devdesk.triage.models import CustomerUpdateDraft, EngineeringIssue

desk_view = signed_in_and(ticket_access.can_use_agent_desk)
issues_view = signed_in_and(access.can_see_issues)


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _ticket_url(ticket: Ticket) -> str:
    return reverse("desk:ticket-detail", args=[ticket.number])


@desk_view
@require_POST
def ticket_escalate(request: HttpRequest, number: int) -> HttpResponse:
    user = _user(request)
    ticket = ticket_access.get_ticket_for(user, number)
    form = EscalationForm(request.POST)
    if not form.is_valid():
        return render_ticket(request, ticket, status=400, escalation_form=form)
    data = form.cleaned_data
    try:
        issue = escalate(
            ticket,
            acting_user=user,
            team=data["team"],
            endpoint=data["endpoint"],
            issue=data["issue"],
            reason=data["reason"],
            external_key=data["external_key"],
            external_url=data["external_url"],
        )
    except TicketError as error:
        ticket.refresh_from_db()
        return render_ticket(
            request,
            ticket,
            status=error.status,
            error=error.message,
            escalation_form=form,
        )
    messages.success(
        request,
        f"Escalated: linked to {issue.reference}. You stay the customer's contact.",
    )
    return redirect(_ticket_url(ticket))


def _draft_for(user: User, number: int, draft_id: int) -> CustomerUpdateDraft:
    ticket = ticket_access.get_ticket_for(user, number)
    if not access.can_work_drafts(user, ticket):
        raise Http404("No such draft")
    try:
        return ticket.update_drafts.select_related("ticket").get(pk=draft_id)
    except CustomerUpdateDraft.DoesNotExist:
        raise Http404("No such draft") from None


@desk_view
@require_POST
def draft_send(request: HttpRequest, number: int, draft_id: int) -> HttpResponse:
    user = _user(request)
    draft = _draft_for(user, number, draft_id)
    form = DraftForm(request.POST)
    if not form.is_valid():
        return render_ticket(
            request,
            draft.ticket,
            status=400,
            error=" ".join(str(e) for e in form.errors["body"]),
        )
    try:
        send_update_draft(draft, body=form.cleaned_data["body"], acting_user=user)
    except TicketError as error:
        draft.ticket.refresh_from_db()
        return render_ticket(
            request, draft.ticket, status=error.status, error=error.message
        )
    messages.success(request, "Update sent to the customer.")
    return redirect(_ticket_url(draft.ticket))


@desk_view
@require_POST
def draft_discard(request: HttpRequest, number: int, draft_id: int) -> HttpResponse:
    user = _user(request)
    draft = _draft_for(user, number, draft_id)
    try:
        discard_update_draft(draft, acting_user=user)
    except TicketError as error:
        return render_ticket(
            request, draft.ticket, status=error.status, error=error.message
        )
    messages.info(request, "Drafted update discarded.")
    return redirect(_ticket_url(draft.ticket))


@issues_view
@require_GET
def issue_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    issues = access.visible_issues(request.user).select_related("team", "endpoint")
    if status in EngineeringIssue.Status.values:
        issues = issues.filter(status=status)
    elif status:
        status = ""
    return render(
        request,
        "triage/escalation/issue_list.html",
        {
            "issues": issues.prefetch_related("tickets")[:200],
            "status": status,
            "statuses": EngineeringIssue.Status.choices,
        },
    )


def render_issue(
    request: HttpRequest,
    issue: EngineeringIssue,
    *,
    status: int = 200,
    error: str = "",
    form: IssueStatusForm | None = None,
) -> HttpResponse:
    user = _user(request)
    tickets = ticket_access.visible_tickets(user).filter(engineering_links__issue=issue)
    context = {
        "issue": issue,
        "tickets": tickets.select_related("owner", "organization").order_by("number"),
        "form": form or IssueStatusForm(initial={"status": issue.status}),
        "can_change": access.can_change_issue_status(user, issue),
        "deliveries": issue.deliveries.select_related("endpoint")[:20]
        if access.can_manage_webhooks(user)
        else None,
        "error": error,
    }
    return render(request, "triage/escalation/issue.html", context, status=status)


@issues_view
@require_GET
def issue_detail(request: HttpRequest, issue_id: int) -> HttpResponse:
    return render_issue(request, access.get_issue_for(request.user, issue_id))


@issues_view
@require_POST
def issue_status(request: HttpRequest, issue_id: int) -> HttpResponse:
    user = _user(request)
    issue = access.get_issue_for(user, issue_id)
    form = IssueStatusForm(request.POST)
    if not form.is_valid():
        return render_issue(request, issue, status=400, form=form)
    try:
        changed = set_issue_status(issue, form.cleaned_data["status"], acting_user=user)
    except TicketError as error:
        return render_issue(request, issue, status=error.status, error=error.message)
    issue.refresh_from_db()
    if changed:
        messages.success(
            request, f"{issue.reference} is now {issue.get_status_display()}."
        )
    return redirect(reverse("triage-escalation:issue-detail", args=[issue.pk]))


def _json_error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=status)


@csrf_exempt  # signed by the tracker, not by a browser session
def tracker_webhook(
    request: HttpRequest, tracker: str, endpoint_id: str
) -> HttpResponse:
    """Where GitHub, Jira and Linear post issue events (see :mod:`.inbound`)."""
    if request.method != "POST":
        response = _json_error(405, "method_not_allowed", "POST the tracker's event.")
        response["Allow"] = "POST"
        return response
    try:
        body = request.body
    except RequestDataTooBig:
        return _json_error(413, "request_too_large", "The body is too large.")
    try:
        answer = inbound.receive_webhook(
            tracker,
            int(endpoint_id),
            headers=request.headers,
            body=body,
            now=timezone.now(),
        )
    except inbound.InboundError as error:
        return _json_error(error.status, error.code, error.message)
    except TicketError as error:
        return _json_error(error.status, error.code, error.message)
    return JsonResponse(answer)
