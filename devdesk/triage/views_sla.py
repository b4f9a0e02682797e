"""The desk's SLA pages: policies and calendars (admins edit, agents read) and the
breach report (agents and admins). Everyone else gets 404; anonymous visitors sign in.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from devdesk.accounts.models import User
from devdesk.lib.guards import signed_in_and
from devdesk.triage.forms_sla import CalendarForm, PolicyForm, ReportForm
from devdesk.triage.models import BusinessCalendar, SlaPolicy
from devdesk.triage.sla.policies import (
    SlaError,
    can_manage_sla,
    can_view_sla,
    delete_policy,
    save_calendar,
    save_policy,
)
from devdesk.triage.sla.report import breach_counts

sla_view = signed_in_and(can_view_sla)
admin_view = signed_in_and(can_manage_sla)


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@sla_view
@require_GET
def sla_overview(request: HttpRequest) -> HttpResponse:
    context = {
        "policies": SlaPolicy.objects.select_related("calendar"),
        "calendars": BusinessCalendar.objects.select_related("team"),
        "can_manage": can_manage_sla(request.user),
    }
    return render(request, "triage/sla/overview.html", context)


def _form_page(
    request: HttpRequest, form: Form, title: str, status: int = 200
) -> HttpResponse:
    return render(
        request, "triage/sla/form.html", {"form": form, "title": title}, status=status
    )


def _refused(form: Form, error: SlaError) -> None:
    field, _, message = error.message.partition(": ")
    if message and field in form.fields:
        form.add_error(field, message)
    else:
        form.add_error(None, error.message)


@admin_view
@require_http_methods(["GET", "POST"])
def policy_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    policy = get_object_or_404(SlaPolicy, pk=pk) if pk else None
    title = f"SLA policy “{policy.name}”" if policy else "New SLA policy"
    if request.method == "GET":
        initial: dict[str, Any] = {}
        if policy:
            initial = {f: getattr(policy, f) for f in PolicyForm.base_fields}
            initial["calendar"] = policy.calendar_id
        return _form_page(request, PolicyForm(initial=initial), title)
    form = PolicyForm(request.POST)
    if not form.is_valid():
        return _form_page(request, form, title, status=400)
    try:
        save_policy(policy, acting_user=_user(request), **form.cleaned_data)
    except SlaError as error:
        _refused(form, error)
        return _form_page(request, form, title, status=error.status)
    messages.success(request, "SLA policy saved.")
    return redirect("sla:overview")


@admin_view
@require_POST
def policy_delete(request: HttpRequest, pk: int) -> HttpResponse:
    policy = get_object_or_404(SlaPolicy, pk=pk)
    try:
        delete_policy(policy, acting_user=_user(request))
    except SlaError as error:
        messages.error(request, error.message)
        return redirect("sla:overview")
    messages.success(request, "SLA policy deleted.")
    return redirect("sla:overview")


@admin_view
@require_http_methods(["GET", "POST"])
def calendar_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    calendar = get_object_or_404(BusinessCalendar, pk=pk) if pk else None
    title = f"Calendar “{calendar.name}”" if calendar else "New business calendar"
    if request.method == "GET":
        initial = CalendarForm.initial_for(calendar) if calendar else {}
        return _form_page(request, CalendarForm(initial=initial), title)
    form = CalendarForm(request.POST)
    if not form.is_valid():
        return _form_page(request, form, title, status=400)
    try:
        save_calendar(calendar, acting_user=_user(request), **form.service_fields())
    except SlaError as error:
        _refused(form, error)
        return _form_page(request, form, title, status=error.status)
    messages.success(request, "Calendar saved.")
    return redirect("sla:overview")


@sla_view
@require_GET
def breach_report(request: HttpRequest) -> HttpResponse:
    form = ReportForm(request.GET or None)
    if request.GET and not form.is_valid():
        raise Http404("No such report")
    since, until = form.span()
    rows = breach_counts(since=since, until=until)
    return render(
        request,
        "triage/sla/report.html",
        {"form": form, "rows": rows, "total": sum(r.breaches for r in rows)},
    )
