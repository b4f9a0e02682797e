"""Tickets over HTTP: list, open, read, change (one or many), converse, merge,
split, history.

Each handler reads like the views do: parse (schema) -> lookup (access) -> service ->
response. Permission answers come from :mod:`devdesk.tickets.access`; a ticket the
caller may not see is 404, one they may see but not change is 403.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, cast

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from ninja import HeaderEx, P, Query, Router, Status

from devdesk.accounts.models import Team, User
from devdesk.accounts.services import find_user_by_email
from devdesk.api.auth import api_user, check_submission_rate, count_submission
from devdesk.api.errors import ERROR_STATUSES, ApiError
from devdesk.api.schemas import (
    TICKET_ORDERINGS,
    AttachmentIn,
    BulkRefusalOut,
    BulkResultOut,
    BulkUpdateIn,
    ErrorOut,
    EventOut,
    MergeIn,
    MessageIn,
    MessageOut,
    PageOut,
    PageParams,
    SplitIn,
    TicketCreateIn,
    TicketFilters,
    TicketOut,
    TicketUpdateIn,
)
from devdesk.intake.services import submit
from devdesk.lib.ids import as_id
from devdesk.lib.keyset import paginate
from devdesk.search.services import match_tickets
from devdesk.tickets import access, bulk, merging, services
from devdesk.tickets.attachments import CheckedUpload, check_uploads
from devdesk.tickets.models import Message, Product, Ticket, TicketEvent, TicketQuerySet

router = Router(tags=["tickets"])

ERRORS = dict.fromkeys(ERROR_STATUSES, ErrorOut)

# What a customer may read of a ticket's history: its lifecycle, not who was assigned,
# which team it went to, or anything about internal notes.
PUBLIC_EVENT_KINDS = frozenset(
    {
        TicketEvent.Kind.CREATED,
        TicketEvent.Kind.STATUS_CHANGED,
        TicketEvent.Kind.MERGED_INTO,
        TicketEvent.Kind.MERGED_FROM,
        TicketEvent.Kind.SPLIT_TO,
        TicketEvent.Kind.SPLIT_FROM,
    }
)
PUBLIC_EVENT_FIELDS = frozenset({"old", "new", "reason", "channel", "source", "target"})
EDIT_FIELDS = frozenset(
    {"priority", "owner", "assignee", "team", "product", "subject", "tags"}
)


def _visible(user: User) -> TicketQuerySet:
    return access.visible_tickets(user).for_list().select_related("sla__policy")


def _loaded(ticket: Ticket) -> Ticket:
    """The ticket again with everything :class:`TicketOut` shows, in a fixed query count."""
    return Ticket.objects.for_list().select_related("sla__policy").get(pk=ticket.pk)


def _user_filter(user: User, value: str, field: str) -> dict[str, Any]:
    if value == "me":
        return {f"{field}_id": user.pk}
    if value == "none":
        return {f"{field}__isnull": True}
    if (user_id := as_id(value)) is not None:
        return {f"{field}_id": user_id}
    raise ApiError(
        422, "invalid_input", f"{field} (query): use a user id, 'me' or 'none'."
    )


def filter_tickets(
    tickets: TicketQuerySet, f: TicketFilters, user: User
) -> TicketQuerySet:
    """Apply the list filters; each refuses a value it cannot understand (422)."""
    statuses = [s.strip() for raw in f.status for s in raw.split(",") if s.strip()]
    unknown = [s for s in statuses if s not in Ticket.Status.values]
    if unknown:
        raise ApiError(
            422,
            "invalid_input",
            f"status (query): unknown status {unknown[0]!r}; use "
            f"{', '.join(Ticket.Status.values)}.",
        )
    if statuses:
        tickets = tickets.filter(status__in=statuses)
    if f.priority is not None:
        tickets = tickets.filter(priority=f.priority)
    if f.product:
        if (product_id := as_id(f.product)) is not None:
            tickets = tickets.filter(product_id=product_id)
        else:
            tickets = tickets.filter(product__slug=f.product)
    if f.organization is not None:
        tickets = tickets.filter(organization_id=f.organization)
    if f.assignee:
        tickets = tickets.filter(**_user_filter(user, f.assignee, "assignee"))
    if f.owner:
        tickets = tickets.filter(**_user_filter(user, f.owner, "owner"))
    if f.channel:
        tickets = tickets.filter(channel=f.channel)
    for tag in f.tag:
        tickets = tickets.filter(tags__name=tag.strip().lower())
    if f.q and f.q.strip():
        tickets = match_tickets(
            tickets, f.q, include_internal=access.can_search_internal_notes(user)
        )
    return tickets


def uploads_from(attachments: list[AttachmentIn]) -> list[CheckedUpload]:
    """Decode base64 attachments and run the same checks as the web forms."""
    files = []
    for i, attachment in enumerate(attachments):
        try:
            content = base64.b64decode(
                "".join(attachment.content_base64.split()), validate=True
            )
        except (binascii.Error, ValueError):
            raise ApiError(
                400,
                "invalid_base64",
                f"attachments[{i}].content_base64 is not valid base64 (RFC 4648, "
                "standard alphabet with padding).",
            ) from None
        files.append((attachment.filename, content))
    return check_uploads(files)


def _requester(user: User, requested: int | str | None) -> tuple[User, str]:
    """Who the new ticket is for, and the channel to record."""
    if user.is_customer:
        if requested is not None and str(requested).lower() not in {
            str(user.pk),
            user.email,
        }:
            raise ApiError(
                403,
                "not_allowed",
                "Customers open tickets for themselves; leave out requester.",
            )
        return user, Ticket.Channel.API
    if requested is None:
        return user, Ticket.Channel.API
    customers = access.visible_users(user).filter(role=User.Role.CUSTOMER)
    if isinstance(requested, int):
        found = customers.filter(pk=requested).first()
    else:
        found = find_user_by_email(requested, customers)
    if found is None:
        raise ApiError(
            422, "invalid_requester", f"requester: there is no customer {requested!r}."
        )
    return found, Ticket.Channel.AGENT


def _product(user: User, product_id: int | None) -> Product | None:
    if product_id is None:
        return None
    product = access.visible_products(user).filter(pk=product_id).first()
    if product is None:
        raise ApiError(
            422,
            "invalid_product",
            f"product: there is no product with id {product_id}; GET /api/products "
            "lists them.",
        )
    return product


def _person(user: User, person_id: int | None, field: str) -> User | None:
    if person_id is None:
        return None
    person = access.visible_users(user).filter(pk=person_id).first()
    if person is None:
        raise ApiError(
            422, f"invalid_{field}", f"{field}: there is no user with id {person_id}."
        )
    return person


def _team(team_id: int | None) -> Team | None:
    if team_id is None:
        return None
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise ApiError(
            422, "invalid_team", f"team: there is no team with id {team_id}."
        )
    return team


@router.get("/tickets", response={200: PageOut[TicketOut], **ERRORS})
def list_tickets(
    request: HttpRequest, filters: Query[TicketFilters]
) -> PageOut[TicketOut]:
    """Tickets you can see, newest change first; follow ``next_cursor`` for more."""
    user = api_user(request)
    if filters.sort == "-score" and not user.works_tickets:
        raise ApiError(
            422, "invalid_input", "sort (query): -score is for desk staff only."
        )
    tickets = filter_tickets(_visible(user), filters, user)
    page = paginate(
        tickets,
        ordering=TICKET_ORDERINGS[filters.sort],
        cursor=filters.cursor,
        size=filters.limit,
    )
    return PageOut[TicketOut](
        items=[TicketOut.build(t, user) for t in page.items],
        next_cursor=page.next_cursor,
        previous_cursor=page.previous_cursor,
    )


@router.post("/tickets", response={200: TicketOut, 201: TicketOut, **ERRORS})
def create_ticket(
    request: HttpRequest,
    payload: TicketCreateIn,
    response: HttpResponse,
    idempotency_key: HeaderEx[
        str | None,
        P(
            alias="Idempotency-Key",
            description="Send the same key when retrying: the retry returns the first "
            "ticket (200) instead of opening another.",
        ),
    ] = None,
) -> Status[TicketOut]:
    """Open a ticket (201); a retry with the same Idempotency-Key answers 200."""
    user = api_user(request)
    if not access.can_open_ticket(user):
        raise ApiError(
            403,
            "not_allowed",
            "Only customers and desk agents open tickets; engineers and partner agents "
            "work on tickets routed to them.",
        )
    check_submission_rate(user)
    requester, channel = _requester(user, payload.requester)
    new = services.NewTicket(
        requester=requester,
        subject=payload.subject,
        body=payload.body,
        channel=channel,
        product=_product(user, payload.product),
        priority=int(payload.priority or Ticket.Priority.NORMAL),
        severity=payload.severity or Ticket.Severity.NORMAL,
        is_production_down=payload.production_down,
        uploads=uploads_from(payload.attachments),
    )
    submitted = submit(new, acting_user=user, idempotency_key=idempotency_key)
    # A retry answered with the first ticket is not counted; a request added to
    # the sender's open ticket (a burst) is.
    if submitted.created or submitted.folded:
        count_submission(user)
    response["Location"] = reverse("api:get_ticket", args=[submitted.ticket.number])
    if not submitted.created:
        return Status(200, TicketOut.build(_loaded(submitted.ticket), user))
    # Just opened: the service's ticket holds what the answer shows (its requester
    # and product; no owner, assignee, team or merge yet), so it is not read again.
    return Status(201, TicketOut.build(submitted.ticket, user))


@router.post("/tickets/bulk", response={200: BulkResultOut, **ERRORS})
def bulk_update_tickets(request: HttpRequest, payload: BulkUpdateIn) -> BulkResultOut:
    """Apply one change to up to 100 tickets. Each ticket changes all or nothing;
    one a rule refuses is listed in ``refused`` and the others still change."""
    user = api_user(request)
    if not access.can_use_agent_desk(user):
        raise ApiError(
            403, "not_allowed", "Only people who work tickets change them in bulk."
        )
    sent = payload.changes.model_fields_set
    changes = bulk.BulkChanges(
        status=payload.changes.status or "",
        priority=payload.changes.priority,
        assignee=(
            _person(user, payload.changes.assignee, "assignee")
            if "assignee" in sent
            else bulk.KEEP
        ),
        team=_team(payload.changes.team) if "team" in sent else bulk.KEEP,
        add_tags=payload.changes.add_tags,
        remove_tags=payload.changes.remove_tags,
    )
    result = bulk.bulk_update(payload.numbers, acting_user=user, changes=changes)
    return BulkResultOut(
        updated=result.updated,
        unchanged=result.unchanged,
        refused=[
            BulkRefusalOut(number=number, code=r.code, message=r.message)
            for number, r in result.refused.items()
        ],
    )


@router.get("/tickets/{int:number}", response={200: TicketOut, **ERRORS})
def get_ticket(request: HttpRequest, number: int) -> TicketOut:
    user = api_user(request)
    ticket = access.get_ticket_for(user, number)
    return TicketOut.build(_loaded(ticket), user)


@router.patch("/tickets/{int:number}", response={200: TicketOut, **ERRORS})
def update_ticket(
    request: HttpRequest, number: int, payload: TicketUpdateIn
) -> TicketOut:
    """Change the fields sent; all of them or none (one transaction)."""
    user = api_user(request)
    ticket = access.get_ticket_for(user, number)
    sent = payload.model_fields_set
    if sent & EDIT_FIELDS and not access.can_edit_ticket(user, ticket):
        raise ApiError(
            403,
            "not_allowed",
            f"You cannot change {', '.join(sorted(sent & EDIT_FIELDS))} of this ticket.",
        )
    changes: dict[str, Any] = {}
    if "subject" in sent:
        changes["subject"] = payload.subject
    if "priority" in sent:
        changes["priority"] = int(cast(int, payload.priority))
    for field in ("owner", "assignee"):
        if field in sent:
            changes[field] = _person(user, getattr(payload, field), field)
    if "team" in sent:
        changes["team"] = _team(payload.team)
    if "product" in sent:
        changes["product"] = _product(user, payload.product)
    with transaction.atomic():
        services.lock_and_refresh(ticket)
        if changes:
            services.update_ticket(ticket, acting_user=user, **changes)
        if payload.tags is not None:
            services.set_tags(ticket, payload.tags, acting_user=user)
        if payload.status is not None:
            services.change_status(ticket, payload.status, acting_user=user)
    return TicketOut.build(_loaded(ticket), user)


@router.get(
    "/tickets/{int:number}/messages", response={200: PageOut[MessageOut], **ERRORS}
)
def list_messages(
    request: HttpRequest, number: int, params: Query[PageParams]
) -> PageOut[MessageOut]:
    """The conversation, oldest first; customers never get internal notes."""
    user = api_user(request)
    ticket = access.get_ticket_for(user, number)
    page = paginate(
        access.visible_messages(user, ticket),
        ordering=["created_at", "id"],
        cursor=params.cursor,
        size=params.limit,
    )
    return PageOut[MessageOut](
        items=[MessageOut.build(m) for m in page.items],
        next_cursor=page.next_cursor,
        previous_cursor=page.previous_cursor,
    )


@router.post("/tickets/{int:number}/messages", response={201: MessageOut, **ERRORS})
def add_message(
    request: HttpRequest, number: int, payload: MessageIn
) -> Status[MessageOut]:
    """Reply, or add an internal note (``internal: true``); optionally set the status."""
    user = api_user(request)
    ticket = access.get_ticket_for(user, number)
    check_submission_rate(user)
    message = services.add_message(
        ticket,
        author=user,
        body=payload.body,
        kind=Message.Kind.INTERNAL if payload.internal else Message.Kind.PUBLIC,
        channel=Ticket.Channel.API,
        uploads=uploads_from(payload.attachments),
        new_status=payload.status,
    )
    count_submission(user)
    return Status(201, MessageOut.build(message))


@router.post("/tickets/{int:number}/merge", response={200: TicketOut, **ERRORS})
def merge_ticket(request: HttpRequest, number: int, payload: MergeIn) -> TicketOut:
    """Merge this ticket into ``into``; answers with the ticket that stays."""
    user = api_user(request)
    source = access.get_ticket_for(user, number)
    if not access.can_merge_and_split(user):
        raise ApiError(403, "not_allowed", "Only desk agents can merge tickets.")
    try:
        target = access.get_ticket_for(user, payload.into)
    except Http404:
        raise ApiError(
            422, "invalid_target", f"into: there is no ticket #{payload.into}."
        ) from None
    merged = merging.merge_tickets(
        source,
        target,
        acting_user=user,
        notify_source=payload.notify_source,
        notify_target=payload.notify_target,
    )
    return TicketOut.build(_loaded(merged), user)


@router.post("/tickets/{int:number}/split", response={201: TicketOut, **ERRORS})
def split_ticket(
    request: HttpRequest, number: int, payload: SplitIn
) -> Status[TicketOut]:
    """Move the chosen messages to a new ticket; answers with the new ticket."""
    user = api_user(request)
    ticket = access.get_ticket_for(user, number)
    if not access.can_merge_and_split(user):
        raise ApiError(403, "not_allowed", "Only desk agents can split tickets.")
    new = merging.split_ticket(
        ticket,
        message_ids=payload.message_ids,
        acting_user=user,
        subject=payload.subject,
    )
    return Status(201, TicketOut.build(_loaded(new), user))


@router.get("/tickets/{int:number}/events", response={200: PageOut[EventOut], **ERRORS})
def list_events(
    request: HttpRequest, number: int, params: Query[PageParams]
) -> PageOut[EventOut]:
    """The ticket's history, oldest first. Customers get its lifecycle only."""
    user = api_user(request)
    ticket = access.get_ticket_for(user, number)
    events = TicketEvent.objects.filter(ticket=ticket).select_related("actor")
    fields = None
    if not access.can_read_internal(user, ticket):
        events = events.filter(kind__in=PUBLIC_EVENT_KINDS)
        fields = PUBLIC_EVENT_FIELDS
    page = paginate(
        events, ordering=["created_at", "id"], cursor=params.cursor, size=params.limit
    )
    return PageOut[EventOut](
        items=[EventOut.build(e, fields=fields) for e in page.items],
        next_cursor=page.next_cursor,
        previous_cursor=page.previous_cursor,
    )
