"""The desk's people pages: customer and partner organizations, and each person.

Admins and agents only. Anonymous visitors are sent to sign in; everyone else is told
the page does not exist, since these pages list every customer. Each view reads like
a recipe: parse (form) → lookup (access) → service → redirect with a flash message.
When a service refuses, the page is shown again with the reason at its field and the
status the service chose (400, 403, 409); services run in one transaction, so a
refusal writes nothing.

These views sit in ``accounts`` but read tickets (an organization's and a person's
recent tickets) and ask :mod:`devdesk.tickets.access`, the one place for permissions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from django.contrib import messages
from django.db.models import Count, Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from devdesk.accounts import services
from devdesk.accounts.forms_desk import (
    InviteToOrganizationForm,
    NewOrganizationForm,
    OrganizationFilterForm,
    OrganizationForm,
    PersonForm,
    add_service_error,
)
from devdesk.accounts.models import Organization, User
from devdesk.lib.guards import signed_in_and
from devdesk.lib.keyset import InvalidCursor, page_url, paginate
from devdesk.tickets import access

ORGANIZATIONS_PER_PAGE = 50
# An organization's page lists this many of its members and recent tickets; the
# inbox (filtered by organization) and the API have the rest.
MEMBERS_SHOWN = 100
TICKETS_SHOWN = 10


# Admins and agents only: anonymous visitors sign in, everyone else gets 404.
people_view = signed_in_and(access.can_manage_people)


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


# Organizations


@dataclass(frozen=True)
class OrganizationRow:
    organization: Organization
    members: int
    latest_activity: datetime | None


def _rows(user: User, organizations: list[Organization]) -> list[OrganizationRow]:
    """Member counts and latest ticket change for one page: two grouped queries over
    the page's ids, whatever the page size (never a count over the whole table)."""
    ids = [org.pk for org in organizations]
    members = dict(
        User.objects.filter(organization_id__in=ids, is_active=True)
        .order_by()
        .values_list("organization_id")
        .annotate(Count("id"))
    )
    latest = dict(
        access.visible_tickets(user)
        .filter(organization_id__in=ids)
        .order_by()
        .values_list("organization_id")
        .annotate(Max("updated_at"))
    )
    return [
        OrganizationRow(org, members.get(org.pk, 0), latest.get(org.pk))
        for org in organizations
    ]


@people_view
@require_GET
def organization_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = OrganizationFilterForm(request.GET)
    organizations = form.filter(access.managed_organizations(user))
    ordering, error = ["name", "id"], ""
    size = ORGANIZATIONS_PER_PAGE
    try:
        cursor = request.GET.get("cursor") or None
        page = paginate(organizations, ordering=ordering, cursor=cursor, size=size)
    except InvalidCursor as exc:
        error = str(exc)
        page = paginate(organizations, ordering=ordering, cursor=None, size=size)
    context = {
        "form": form,
        "rows": _rows(user, page.items),
        "error": error,
        "next_url": page_url(request, page.next_cursor),
        "previous_url": page_url(request, page.previous_cursor),
    }
    status = 400 if error or form.errors else 200
    return render(
        request, "accounts/desk/organization_list.html", context, status=status
    )


@people_view
@require_http_methods(["GET", "POST"])
def organization_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not access.can_manage_organizations(user):
        raise Http404("No such page")
    form = NewOrganizationForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            organization = services.create_organization(
                acting_user=user, **form.cleaned_data
            )
        except services.AccountError as error:
            add_service_error(form, error)
            status = error.status
        else:
            messages.success(request, f"{organization.name} was created.")
            return redirect("people:organization-detail", organization.pk)
    else:
        status = 400 if form.is_bound else 200
    return render(
        request, "accounts/desk/organization_new.html", {"form": form}, status=status
    )


def render_organization(
    request: HttpRequest,
    organization: Organization,
    *,
    status: int = 200,
    edit_form: OrganizationForm | None = None,
    invite_form: InviteToOrganizationForm | None = None,
) -> HttpResponse:
    """The organization's page; a bound form given here is shown with its errors."""
    user = _user(request)
    members = list(
        organization.members.order_by("name", "email", "id")[: MEMBERS_SHOWN + 1]
    )
    tickets = (
        access.visible_tickets(user)
        .filter(organization=organization)
        .select_related("requester", "assignee")
        .order_by("-updated_at", "-id")[:TICKETS_SHOWN]
    )
    invitations = (
        organization.invitations.filter(
            accepted_at__isnull=True, expires_at__gt=timezone.now()
        )
        .select_related("invited_by")
        .order_by("-created_at")[:20]
    )
    context = {
        "organization": organization,
        "members": members[:MEMBERS_SHOWN],
        "more_members": len(members) > MEMBERS_SHOWN,
        "tickets": tickets,
        "invitations": invitations,
        "can_invite": access.can_invite_to(user, organization),
        "edit_form": edit_form
        or OrganizationForm(
            initial={
                "name": organization.name,
                "plan": organization.plan,
                "domains": ", ".join(organization.domain_list),
                "notes": organization.notes,
            }
        ),
        "invite_form": invite_form or InviteToOrganizationForm(),
    }
    return render(
        request, "accounts/desk/organization_detail.html", context, status=status
    )


@people_view
@require_GET
def organization_detail(request: HttpRequest, pk: int) -> HttpResponse:
    organization = access.get_managed_organization_for(request.user, pk)
    return render_organization(request, organization)


@people_view
@require_POST
def organization_update(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    organization = access.get_managed_organization_for(user, pk)
    form = OrganizationForm(request.POST)
    if not form.is_valid():
        return render_organization(request, organization, status=400, edit_form=form)
    try:
        changed = services.update_organization(
            organization, acting_user=user, **form.cleaned_data
        )
    except services.AccountError as error:
        add_service_error(form, error)
        organization.refresh_from_db()
        return render_organization(
            request, organization, status=error.status, edit_form=form
        )
    if changed:
        messages.success(request, f"Saved: {', '.join(changed)}.")
    else:
        messages.info(request, "Nothing changed.")
    return redirect("people:organization-detail", organization.pk)


@people_view
@require_POST
def organization_invite(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    organization = access.get_managed_organization_for(user, pk)
    form = InviteToOrganizationForm(request.POST)
    if not form.is_valid():
        return render_organization(request, organization, status=400, invite_form=form)
    try:
        invitation, _raw = services.invite_to_organization(
            organization, email=form.cleaned_data["email"], acting_user=user
        )
    except services.AccountError as error:
        add_service_error(form, error)
        return render_organization(
            request, organization, status=error.status, invite_form=form
        )
    messages.success(request, f"We e-mailed an invitation to {invitation.email}.")
    return redirect("people:organization-detail", organization.pk)


# People


def render_person(
    request: HttpRequest,
    person: User,
    *,
    status: int = 200,
    form: PersonForm | None = None,
    error: str = "",
) -> HttpResponse:
    """A person's profile, their requested tickets and, if allowed, the edit form."""
    user = _user(request)
    editable = access.editable_person_fields(user, person)
    tickets = (
        access.visible_tickets(user)
        .filter(requester=person)
        .select_related("organization", "assignee")
        .order_by("-updated_at", "-id")[:TICKETS_SHOWN]
    )
    organization = person.organization
    context = {
        "person": person,
        "organization_link": organization is not None
        and access.managed_organizations(user).filter(pk=organization.pk).exists(),
        "tickets": tickets,
        "tickets_shown": TICKETS_SHOWN,
        "form": form or (PersonForm(person=person, actor=user) if editable else None),
        "error": error,
    }
    return render(request, "accounts/desk/person_detail.html", context, status=status)


@people_view
@require_GET
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = access.get_user_for(request.user, pk)
    return render_person(request, person)


@people_view
@require_POST
def person_update(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    person = access.get_user_for(user, pk)
    editable = access.editable_person_fields(user, person)
    form = PersonForm(request.POST, person=person, actor=user)
    # A field the form left out was sent by hand (or from a stale page): say no
    # rather than silently ignore it.
    refused = [
        f for f in services.PERSON_FIELDS if f in request.POST and f not in editable
    ]
    if refused or not editable:
        error = services.person_change_refusal(
            user, person, refused or services.PERSON_FIELDS
        )
        return render_person(request, person, status=403, error=error.message)
    if not form.is_valid():
        return render_person(request, person, status=400, form=form)
    try:
        changed = services.update_person(person, acting_user=user, **form.changes())
    except services.AccountError as error:
        add_service_error(form, error)
        person.refresh_from_db()
        return render_person(request, person, status=error.status, form=form)
    if changed:
        names = ", ".join("active" if f == "is_active" else f for f in changed)
        messages.success(request, f"Saved: {names}.")
    else:
        messages.info(request, "Nothing changed.")
    return redirect("people:person-detail", person.pk)
