"""The desk's rule pages: the ordered list, a rule's page with its preview, and the
form to create or change one (admins). Agents read; everyone else gets 404.

"Test this rule" on the form previews the rule as typed, saved or not; on a rule's
page it previews the saved rule. A preview changes nothing (see
:func:`devdesk.triage.rules.engine.preview_rule`).
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from devdesk.accounts.models import User
from devdesk.lib.guards import signed_in_and
from devdesk.triage.forms_rules import DEFAULT_PREVIEW, PreviewForm, RuleForm
from devdesk.triage.models import Rule
from devdesk.triage.rules import engine, services
from devdesk.triage.rules.access import can_edit_rules, can_view_rules
from devdesk.triage.rules.registry import ACTIONS, CONDITIONS, RuleError
from devdesk.triage.rules.spec import action_line, condition_line

rules_view = signed_in_and(can_view_rules)


def _editor(request: HttpRequest) -> User:
    if not can_edit_rules(request.user):
        raise Http404("No such page")
    return cast(User, request.user)


def _compiled(rule: Rule | None, fields: dict[str, Any]) -> engine.CompiledRule:
    return engine.compile_rule(
        id=rule.pk if rule else 0,
        name=fields.get("name", "preview"),
        trigger=fields["trigger"],
        match=fields["match"],
        stop_processing=fields.get("stop_processing", False),
        conditions=fields["conditions"],
        actions=fields["actions"],
    )


@require_GET
@rules_view
def rule_list(request: HttpRequest) -> HttpResponse:
    rules = list(Rule.objects.order_by("trigger", "position", "id"))
    groups = [
        (label, [r for r in rules if r.trigger == value])
        for value, label in Rule.Trigger.choices
    ]
    return render(
        request,
        "triage/rules/rule_list.html",
        {"groups": groups, "can_edit": can_edit_rules(request.user)},
    )


@require_GET
@rules_view
def rule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(Rule, pk=pk)
    form = PreviewForm(request.GET or None)
    last = DEFAULT_PREVIEW
    if form.is_bound and form.is_valid():
        last = form.cleaned_data["last"] or DEFAULT_PREVIEW
    rows = None
    if "last" in request.GET and not form.errors:
        rows = engine.preview_rule(engine.compile_saved(rule), last=last)
    context = {
        "rule": rule,
        "conditions": [condition_line(c) for c in rule.conditions],
        "actions": [action_line(a) for a in rule.actions],
        "form": form,
        "rows": rows,
        "last": last,
        "can_edit": can_edit_rules(request.user),
    }
    return render(
        request,
        "triage/rules/rule_detail.html",
        context,
        status=400 if form.errors else 200,
    )


def _render_form(
    request: HttpRequest,
    form: RuleForm,
    rule: Rule | None,
    *,
    status: int = 200,
    rows: list[engine.PreviewRow] | None = None,
) -> HttpResponse:
    context = {
        "form": form,
        "rule": rule,
        "rows": rows,
        "conditions": CONDITIONS.values(),
        "actions": ACTIONS.values(),
        "notes": form.checked.notes if form.checked else [],
    }
    return render(request, "triage/rules/rule_form.html", context, status=status)


def _save_or_preview(request: HttpRequest, rule: Rule | None) -> HttpResponse:
    """The recipe of the new and edit pages: parse → preview or service → redirect."""
    user = _editor(request)
    if request.method == "GET":
        initial = RuleForm.initial_for(rule) if rule else None
        return _render_form(request, RuleForm(initial=initial), rule)
    form = RuleForm(request.POST)
    if not form.is_valid():
        return _render_form(request, form, rule, status=400)
    fields = form.rule_fields()
    if "preview" in request.POST:
        last = form.cleaned_data.get("last") or DEFAULT_PREVIEW
        rows = engine.preview_rule(_compiled(rule, fields), last=last)
        return _render_form(request, form, rule, rows=rows)
    try:
        if rule is None:
            rule, checked = services.create_rule(acting_user=user, **fields)
        else:
            rule, checked = services.update_rule(rule, acting_user=user, **fields)
    except RuleError as error:
        form.add_error("name" if error.code.startswith("name") else None, error.message)
        return _render_form(request, form, rule, status=error.status)
    messages.success(request, f"Rule “{rule.name}” saved.")
    for note in checked.notes:
        messages.info(request, note)
    return redirect("rules:rule-detail", rule.pk)


@require_http_methods(["GET", "POST"])
@rules_view
def rule_new(request: HttpRequest) -> HttpResponse:
    return _save_or_preview(request, None)


@require_http_methods(["GET", "POST"])
@rules_view
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _save_or_preview(request, get_object_or_404(Rule, pk=pk))


@require_POST
@rules_view
def rule_move(request: HttpRequest, pk: int) -> HttpResponse:
    user = _editor(request)
    rule = get_object_or_404(Rule, pk=pk)
    step = -1 if request.POST.get("direction") == "up" else 1
    services.move_rule(rule, acting_user=user, position=max(0, rule.position + step))
    return redirect("rules:rule-list")


@require_POST
@rules_view
def rule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    user = _editor(request)
    rule = get_object_or_404(Rule, pk=pk)
    services.set_rule_active(rule, acting_user=user, is_active=not rule.is_active)
    state = "on" if rule.is_active else "off"
    messages.success(request, f"Rule “{rule.name}” switched {state}.")
    return redirect("rules:rule-list")


@require_POST
@rules_view
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = _editor(request)
    rule = get_object_or_404(Rule, pk=pk)
    services.delete_rule(rule, acting_user=user)
    messages.success(request, f"Rule “{rule.name}” deleted.")
    return redirect("rules:rule-list")
