"""The desk's triage pages: the settings page (scoring policy, routing, rules,
skills; admins change, agents read), a ticket's estimates and duplicate link (forms
in the ticket page's side column), and the list of waiting customers.

Customers, engineers and partner agents get 404 for all of it: they never see
scores, effort, routing or skills.
"""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from devdesk.accounts.models import User
from devdesk.lib.guards import signed_in_and
from devdesk.tickets import access
from devdesk.tickets.errors import TicketError
from devdesk.tickets.models import Ticket
from devdesk.triage import routing, scoring
from devdesk.triage.forms_scoring import (
    DuplicateForm,
    EstimatesForm,
    PolicyForm,
    RoutingForm,
    RuleForm,
    SeverityForm,
    SkillForm,
)
from devdesk.triage.models import (
    AgentSkill,
    DuplicateLink,
    RoutingPolicy,
    RoutingRule,
    Skill,
    TeamRouting,
)
from devdesk.triage.waiting import waiting_tickets

staff_view = signed_in_and(lambda user: user.is_active and user.is_desk_staff)
WAITING_PER_PAGE = 100


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _require_admin(user: User) -> None:
    if user.role != User.Role.ADMIN:
        raise TicketError(
            "not_allowed", "Only admins change triage settings.", status=403
        )


def _ticket_url(ticket: Ticket) -> str:
    return reverse("desk:ticket-detail", args=[ticket.number]) + "#triage"


# The settings page


def render_settings(
    request: HttpRequest, *, status: int = 200, error: str = "", **forms: Any
) -> HttpResponse:
    methods = dict(TeamRouting.objects.values_list("team_id", "method"))
    policy = RoutingPolicy.objects.filter(pk=1).first()
    context = {
        "can_edit": _user(request).role == User.Role.ADMIN,
        "error": error,
        "policy_form": PolicyForm.for_policy(),
        "routing_form": RoutingForm(
            methods=methods,
            initial={"default_team": policy.default_team_id if policy else None},
        ),
        "rule_form": RuleForm(),
        "skill_form": SkillForm(),
        "rules": RoutingRule.objects.select_related("team").prefetch_related(
            "products", "organizations", "required_skills"
        ),
        "skills": Skill.objects.prefetch_related("agents__user"),
        "names": scoring.NAMES,
        **forms,
    }
    return render(request, "triage/scoring/settings.html", context, status=status)


@require_GET
@staff_view
def settings_page(request: HttpRequest) -> HttpResponse:
    return render_settings(request)


@require_POST
@staff_view
def policy_save(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = PolicyForm(request.POST)
    if not form.is_valid():
        return render_settings(request, status=400, policy_form=form)
    try:
        _, changed = scoring.update_policy(acting_user=user, **form.cleaned_data)
    except TicketError as error:
        form.add_error(None, error.message)
        return render_settings(request, status=error.status, policy_form=form)
    messages.success(request, f"Scoring saved; {changed} open tickets rescored.")
    return redirect("triage:settings")


@require_POST
@staff_view
def routing_save(request: HttpRequest) -> HttpResponse:
    methods = dict(TeamRouting.objects.values_list("team_id", "method"))
    form = RoutingForm(request.POST, methods=methods)
    try:
        _require_admin(_user(request))
    except TicketError as error:
        return render_settings(request, status=error.status, error=error.message)
    if not form.is_valid():
        return render_settings(request, status=400, routing_form=form)
    with transaction.atomic():
        RoutingPolicy.objects.update_or_create(
            pk=1, defaults={"default_team": form.cleaned_data["default_team"]}
        )
        for team, method in form.methods().items():
            TeamRouting.objects.update_or_create(team=team, defaults={"method": method})
    messages.success(request, "Routing saved.")
    return redirect("triage:settings")


@staff_view
def rule_edit(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    """GET: the rule's form; POST: save it (admins)."""
    rule = get_object_or_404(RoutingRule, pk=rule_id) if rule_id else RoutingRule()
    if request.method != "POST":
        return render(
            request, "triage/scoring/rule.html", {"form": RuleForm(instance=rule)}
        )
    try:
        _require_admin(_user(request))
    except TicketError as error:
        return render_settings(request, status=error.status, error=error.message)
    form = RuleForm(request.POST, instance=rule)
    if not form.is_valid():
        return render(request, "triage/scoring/rule.html", {"form": form}, status=400)
    form.save()
    messages.success(request, f"Rule “{form.instance.name}” saved.")
    return redirect("triage:settings")


@require_POST
@staff_view
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    try:
        _require_admin(_user(request))
    except TicketError as error:
        return render_settings(request, status=error.status, error=error.message)
    rule = get_object_or_404(RoutingRule, pk=rule_id)
    rule.delete()
    messages.success(request, f"Rule “{rule.name}” deleted.")
    return redirect("triage:settings")


@require_POST
@staff_view
def skill_save(request: HttpRequest) -> HttpResponse:
    """Make a skill (or find it by name) and say who has it."""
    try:
        _require_admin(_user(request))
    except TicketError as error:
        return render_settings(request, status=error.status, error=error.message)
    form = SkillForm(request.POST)
    if not form.is_valid():
        return render_settings(request, status=400, skill_form=form)
    people = list(form.cleaned_data["people"])
    with transaction.atomic():
        skill, _ = Skill.objects.get_or_create(name=form.cleaned_data["name"])
        AgentSkill.objects.filter(skill=skill).exclude(user__in=people).delete()
        for person in people:
            AgentSkill.objects.get_or_create(skill=skill, user=person)
    messages.success(request, f"Skill “{skill.name}” saved.")
    return redirect("triage:settings")


# A ticket's estimates and duplicate link


def _editable_ticket(request: HttpRequest, number: int) -> Ticket:
    ticket = access.get_ticket_for(request.user, number, related=("organization",))
    if not access.can_edit_ticket(request.user, ticket):
        raise Http404("No such ticket")
    return ticket


def _refused(
    request: HttpRequest, ticket: Ticket, message: str, status: int, **forms: Any
) -> HttpResponse:
    context = {"ticket": ticket, "message": message, **forms}
    return render(request, "triage/scoring/refused.html", context, status=status)


@require_POST
@staff_view
def ticket_estimates(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _editable_ticket(request, number)
    form = EstimatesForm(request.POST)
    if not form.is_valid():
        return _refused(
            request, ticket, "Some values are not valid.", 400, estimates_form=form
        )
    try:
        changed = scoring.set_estimates(
            ticket, acting_user=_user(request), **form.changes()
        )
    except TicketError as error:
        return _refused(request, ticket, error.message, error.status)
    if changed:
        messages.success(request, f"Score is now {ticket.score:g}.")
    return redirect(_ticket_url(ticket))


@require_POST
@staff_view
def ticket_duplicate(request: HttpRequest, number: int) -> HttpResponse:
    duplicate = _editable_ticket(request, number)
    form = DuplicateForm(request.POST)
    if not form.is_valid():
        return _refused(
            request, duplicate, "Give the original's number.", 400, duplicate_form=form
        )
    try:
        original = access.get_ticket_for(request.user, form.cleaned_data["original"])
        scoring.mark_duplicate(duplicate, original, acting_user=_user(request))
    except Http404:
        return _refused(
            request,
            duplicate,
            f"There is no ticket #{form.cleaned_data['original']}.",
            400,
        )
    except TicketError as error:
        return _refused(request, duplicate, error.message, error.status)
    messages.success(request, f"Linked as a duplicate of {original.reference}.")
    return redirect(_ticket_url(duplicate))


@require_POST
@staff_view
def ticket_unlink(request: HttpRequest, number: int) -> HttpResponse:
    duplicate = _editable_ticket(request, number)
    try:
        original = scoring.unlink_duplicate(duplicate, acting_user=_user(request))
    except TicketError as error:
        return _refused(request, duplicate, error.message, error.status)
    messages.success(request, f"No longer a duplicate of {original.reference}.")
    return redirect(_ticket_url(duplicate))


@require_POST
@staff_view
def ticket_route(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _editable_ticket(request, number)
    routed = routing.route(ticket, acting_user=_user(request))
    if routed.team is None:
        messages.info(request, "No routing rule matched and there is no default team.")
    else:
        who = routed.assignee.display_name if routed.assignee else "nobody yet"
        messages.success(request, f"Routed to {routed.team.name} ({who}).")
    return redirect(_ticket_url(ticket))


def ticket_panel_context(ticket: Ticket, user: User) -> dict[str, Any]:
    """What the ticket page's triage panel shows (desk staff only)."""
    policy = scoring.current_policy()
    link = DuplicateLink.objects.filter(duplicate=ticket).select_related("original")
    return {
        "ticket": ticket,
        "can_edit": access.can_edit_ticket(user, ticket),
        "inputs": scoring.score_inputs(ticket, policy),
        "estimates_form": EstimatesForm(
            initial={
                "severity": ticket.severity,
                "is_production_down": ticket.is_production_down,
                "affected_count": ticket.affected_count,
                "effort_hours": ticket.effort_hours,
            }
        ),
        "duplicate_form": DuplicateForm(),
        "duplicate_of": next((x.original for x in link), None),
        "duplicates": Ticket.objects.filter(duplicate_link__original=ticket).order_by(
            "number"
        ),
    }


# The portal: a customer says how bad it is


@require_POST
@signed_in_and(lambda user: user.is_active)
def portal_severity(request: HttpRequest, number: int) -> HttpResponse:
    """A customer changes the severity and production-down flag of a ticket of their
    own organization (anyone else: 404, or 403 from the service)."""
    ticket = access.get_ticket_for(request.user, number, related=("organization",))
    form = SeverityForm(request.POST)
    back = reverse("portal:ticket-detail", args=[ticket.number])
    if not form.is_valid():
        return render(
            request,
            "triage/scoring/portal_refused.html",
            {"ticket": ticket, "message": "Choose a severity.", "back": back},
            status=400,
        )
    try:
        changed = scoring.set_estimates(
            ticket, acting_user=_user(request), **form.cleaned_data
        )
    except TicketError as error:
        return render(
            request,
            "triage/scoring/portal_refused.html",
            {"ticket": ticket, "message": error.message, "back": back},
            status=error.status,
        )
    if changed:
        messages.success(request, "Thanks: we will take it into account.")
    return redirect(back)


def portal_severity_context(ticket: Ticket, user: User) -> dict[str, Any]:
    """The portal ticket page's severity form, for the ticket's customers only."""
    if not (user.is_customer and ticket.is_unresolved and not ticket.merged_into_id):
        return {"hidden": True}
    form = SeverityForm(
        initial={
            "severity": ticket.severity,
            "is_production_down": ticket.is_production_down,
        }
    )
    return {"ticket": ticket, "form": form}


# Waiting customers


@require_GET
@staff_view
def waiting_page(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    tickets = waiting_tickets(user).select_related("owner", "assignee", "organization")
    mine = request.GET.get("owner") == "me"
    if mine:
        tickets = tickets.filter(owner=user)
    context = {
        "tickets": tickets[:WAITING_PER_PAGE],
        "mine": mine,
        "settings_hours": settings.WAITING_CUSTOMER_HOURS,
    }
    return render(request, "triage/scoring/waiting.html", context)
