"""Organizations, users and products, as far as the caller may see them; desk staff
also create and change organizations, invite customers and change people.

Writes follow the recipe of the ticket endpoints: schema → lookup (access, 404 for
what the caller cannot see) → permission (access, 403) → service. A service's
refusal (:class:`AccountError`) keeps its code and status.
"""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Query, Router, Status

from devdesk.accounts import services
from devdesk.accounts.models import Organization, User
from devdesk.api.auth import api_user
from devdesk.api.errors import ERROR_STATUSES, ApiError
from devdesk.api.schemas import (
    ErrorOut,
    InvitationOut,
    OrganizationCreateIn,
    OrganizationDetailOut,
    OrganizationFilters,
    OrganizationOut,
    OrganizationUpdateIn,
    PageOut,
    PageParams,
    ProductOut,
    UserAccountOut,
    UserFilters,
    UserInviteIn,
    UserOut,
    UserUpdateIn,
)
from devdesk.lib.keyset import paginate
from devdesk.tickets import access

router = Router(tags=["people and products"])

ERRORS = dict.fromkeys(ERROR_STATUSES, ErrorOut)


@router.get("/organizations", response={200: PageOut[OrganizationOut], **ERRORS})
def list_organizations(
    request: HttpRequest, filters: Query[OrganizationFilters]
) -> PageOut[OrganizationOut]:
    organizations = access.visible_organizations(api_user(request))
    if filters.kind:
        organizations = organizations.filter(kind=filters.kind)
    if filters.q and filters.q.strip():
        organizations = organizations.filter(name__icontains=filters.q.strip())
    page = paginate(
        organizations,
        ordering=["name", "id"],
        cursor=filters.cursor,
        size=filters.limit,
    )
    return PageOut[OrganizationOut](
        items=[OrganizationOut.build(o) for o in page.items],
        next_cursor=page.next_cursor,
        previous_cursor=page.previous_cursor,
    )


@router.get(
    "/organizations/{int:organization_id}", response={200: OrganizationOut, **ERRORS}
)
def get_organization(request: HttpRequest, organization_id: int) -> OrganizationOut:
    return OrganizationOut.build(
        access.get_organization_for(api_user(request), organization_id)
    )


@router.get("/users", response={200: PageOut[UserOut], **ERRORS})
def list_users(request: HttpRequest, filters: Query[UserFilters]) -> PageOut[UserOut]:
    users = access.visible_users(api_user(request)).select_related("organization")
    if filters.organization is not None:
        users = users.filter(organization_id=filters.organization)
    if filters.role:
        users = users.filter(role=filters.role)
    if filters.q and filters.q.strip():
        text = filters.q.strip()
        users = users.filter(Q(name__icontains=text) | Q(email__icontains=text))
    page = paginate(
        users, ordering=["name", "id"], cursor=filters.cursor, size=filters.limit
    )
    return PageOut[UserOut](
        items=[UserOut.build(u) for u in page.items],
        next_cursor=page.next_cursor,
        previous_cursor=page.previous_cursor,
    )


@router.get("/users/me", response={200: UserOut, **ERRORS})
def get_me(request: HttpRequest) -> UserOut:
    """Whom the token belongs to."""
    return UserOut.build(api_user(request))


@router.get("/users/{int:user_id}", response={200: UserOut, **ERRORS})
def get_user(request: HttpRequest, user_id: int) -> UserOut:
    return UserOut.build(access.get_user_for(api_user(request), user_id))


@router.get("/products", response={200: PageOut[ProductOut], **ERRORS})
def list_products(
    request: HttpRequest, params: Query[PageParams]
) -> PageOut[ProductOut]:
    products = access.visible_products(api_user(request))
    page = paginate(
        products, ordering=["name", "id"], cursor=params.cursor, size=params.limit
    )
    return PageOut[ProductOut](
        items=[ProductOut.build(p) for p in page.items],
        next_cursor=page.next_cursor,
        previous_cursor=page.previous_cursor,
    )


def _refused(error: services.AccountError) -> ApiError:
    return ApiError(error.status, error.code, error.message)


def _organization(user: User, organization_id: int) -> Organization:
    """An organization named in a request body; unknown ones are 422, like products."""
    organization = access.visible_organizations(user).filter(pk=organization_id).first()
    if organization is None:
        raise ApiError(
            422,
            "invalid_organization",
            f"organization: there is no organization with id {organization_id}; GET "
            "/api/organizations lists them.",
        )
    return organization


@router.post("/organizations", response={201: OrganizationDetailOut, **ERRORS})
def create_organization(
    request: HttpRequest, payload: OrganizationCreateIn, response: HttpResponse
) -> Status[OrganizationDetailOut]:
    """Create a customer or partner organization (admins and agents)."""
    user = api_user(request)
    if not access.can_manage_organizations(user):
        raise ApiError(
            403, "not_allowed", "Only admins and agents create organizations."
        )
    try:
        organization = services.create_organization(
            acting_user=user, **payload.model_dump()
        )
    except services.AccountError as error:
        raise _refused(error) from None
    response["Location"] = reverse("api:get_organization", args=[organization.pk])
    return Status(201, OrganizationDetailOut.build(organization))


@router.patch(
    "/organizations/{int:organization_id}",
    response={200: OrganizationDetailOut, **ERRORS},
)
def update_organization(
    request: HttpRequest, organization_id: int, payload: OrganizationUpdateIn
) -> OrganizationDetailOut:
    """Change the fields sent of a customer or partner organization (admins and
    agents); a domain another organization lists is refused with 409."""
    user = api_user(request)
    organization = access.get_organization_for(user, organization_id)
    if not access.can_manage_organizations(user):
        raise ApiError(
            403, "not_allowed", "Only admins and agents change organizations."
        )
    try:
        services.update_organization(
            organization, acting_user=user, **payload.model_dump(exclude_unset=True)
        )
    except services.AccountError as error:
        raise _refused(error) from None
    return OrganizationDetailOut.build(organization)


@router.post("/users", response={201: InvitationOut, **ERRORS})
def invite_user(request: HttpRequest, payload: UserInviteIn) -> Status[InvitationOut]:
    """Invite a person into an organization (admins and agents): 201 with the
    invitation.

    Nobody sets a password for someone else: the person gets an e-mail with a link
    valid for 14 days, chooses their name and password there, and only then does
    their user exist (``"user": null`` until then; they appear in GET /api/users
    after). A customer organization makes a customer; a partner organization
    (admins only) a partner agent. An address that has an account is 409
    ``email_taken``.
    """
    user = api_user(request)
    if not access.can_manage_people(user):
        raise ApiError(403, "not_allowed", "Only admins and agents invite people.")
    organization = _organization(user, payload.organization)
    try:
        invitation, _raw = services.invite_to_organization(
            organization, email=payload.email, acting_user=user
        )
    except services.AccountError as error:
        raise _refused(error) from None
    return Status(201, InvitationOut.build(invitation))


@router.patch("/users/{int:user_id}", response={200: UserAccountOut, **ERRORS})
def update_user(
    request: HttpRequest, user_id: int, payload: UserUpdateIn
) -> UserAccountOut:
    """Change the fields sent. Agents change customers' name and organization; admins
    anyone's, and roles and ``is_active`` too (not their own). A deactivated person
    cannot sign in and their API tokens stop working."""
    user = api_user(request)
    person = access.get_user_for(user, user_id)
    if not access.can_manage_people(user):
        raise ApiError(
            403,
            "not_allowed",
            "Only admins and agents change people; change your own name on your "
            "settings page.",
        )
    changes = payload.model_dump(exclude_unset=True)
    if "organization" in changes:
        changes["organization"] = _organization(user, changes["organization"])
    try:
        services.update_person(person, acting_user=user, **changes)
    except services.AccountError as error:
        raise _refused(error) from None
    person = User.objects.select_related("organization").get(pk=person.pk)
    return UserAccountOut.build(person)
