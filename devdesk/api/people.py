"""Organizations, users and products, as far as the caller may see them."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest
from ninja import Query, Router

from devdesk.api.auth import api_user
from devdesk.api.errors import ERROR_STATUSES
from devdesk.api.schemas import (
    ErrorOut,
    OrganizationFilters,
    OrganizationOut,
    PageOut,
    PageParams,
    ProductOut,
    UserFilters,
    UserOut,
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
