"""The agent desk: the inbox, the ticket page and every action on it.

Each action reads like a recipe: parse (form) → lookup (access) → service → redirect
with a flash message. When a service refuses, the ticket page is shown again with the
reason, the status the service chose (400/403) and what was typed; the services run
in one transaction, so nothing is half-written.
"""

from __future__ import annotations

import re
from functools import wraps
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from devdesk.accounts.models import User
from devdesk.intake.services import submit
from devdesk.lib.guards import View, signed_in_and
from devdesk.lib.ids import INTEGER_MAX, as_id
from devdesk.lib.keyset import InvalidCursor
from devdesk.tickets import access, bulk, inbox
from devdesk.tickets.errors import TicketError
from devdesk.tickets.forms import (
    PERSON_SCOPES,
    BulkUpdateForm,
    EscalateForm,
    InboxFilterForm,
    MergeForm,
    NewTicketForm,
    ReplyForm,
    SplitForm,
    TicketUpdateForm,
    macro_choices,
    people_for,
)
from devdesk.tickets.history import ticket_history
from devdesk.tickets.merging import (
    default_merge_notices,
    merge_tickets,
    split_ticket,
    undo_merge,
)
from devdesk.tickets.models import Macro, Ticket, TicketPresence
from devdesk.tickets.people import suggest
from devdesk.tickets.presence import collision_warning, record_presence
from devdesk.tickets.services import (
    NewTicket,
    add_message,
    apply_macro,
    change_status,
    escalate_ticket,
    render_macro,
    set_followers,
    set_tags,
    update_ticket,
)

NOT_ALLOWED = {
    "merge": TicketError(
        "not_allowed", "You cannot merge or split tickets.", status=403
    ),
    "edit": TicketError("not_allowed", "You cannot change this ticket.", status=403),
    "open": TicketError(
        "not_allowed", "Only desk agents can open tickets for customers.", status=403
    ),
}


# Signed-in people who work tickets only: anonymous visitors are sent to sign in,
# customers are told the page does not exist (the inbox sends them to the portal).
desk_view = signed_in_and(access.can_use_agent_desk)


def customers_to_portal(view: View) -> View:
    """A customer who opens the desk's front door is taken to their portal instead."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and not access.can_use_agent_desk(
            request.user
        ):
            return redirect("portal:ticket-list")
        return view(request, *args, **kwargs)

    return cast(View, wrapper)


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _detail(ticket: Ticket, anchor: str = "") -> str:
    url = reverse("desk:ticket-detail", args=[ticket.number])
    return f"{url}#{anchor}" if anchor else url


# The inbox


@customers_to_portal
@desk_view
@require_GET
def inbox_view(request: HttpRequest) -> HttpResponse:
    return render_inbox(request, request.GET)


def render_inbox(
    request: HttpRequest,
    query: QueryDict,
    *,
    status: int = 200,
    bulk_form: BulkUpdateForm | None = None,
) -> HttpResponse:
    """The inbox page for ``query`` (view, filters, sort, cursor); ``bulk_form``
    replaces the bulk bar with a bound one to show again with its errors."""
    user = _user(request)
    form = InboxFilterForm(query, user=user)
    view, sort, filters = form.view_slug(), form.sort_key(), form.filters()
    error = ""
    try:
        page = inbox.inbox_page(
            user,
            view=view,
            filters=filters,
            sort=sort,
            cursor=query.get("cursor") or None,
            size=settings.INBOX_PAGE_SIZE,
        )
    except InvalidCursor as exc:
        error = str(exc)
        page = inbox.inbox_page(
            user, view=view, filters=filters, sort=sort, size=settings.INBOX_PAGE_SIZE
        )
    # What the bulk bar offers: the changes the user may make to some ticket here.
    permitted = {t.number: bulk.permitted_changes(user, t) for t in page.items}
    context = {
        "form": form,
        "view": inbox.VIEWS[view],
        "counts": inbox.view_counts(user),
        "page": page,
        "filtered": not filters.is_empty,
        "error": error,
        "next_url": _page_url(query, page.next_cursor),
        "previous_url": _page_url(query, page.previous_cursor),
        "can_open_tickets": access.can_open_ticket_for_customer(user),
        "bulk_form": bulk_form
        or BulkUpdateForm(user=user, initial={"back": query.urlencode()}),
        "bulk_numbers": {number for number, may in permitted.items() if may},
        "bulk_offers": frozenset().union(*permitted.values()),
        "bulk_ticked": bulk_form.ticked() if bulk_form else set(),
    }
    if status == 200 and (error or form.errors):
        status = 400
    return render(request, "tickets/desk/inbox.html", context, status=status)


def _page_url(query: QueryDict, cursor: str | None) -> str:
    if not cursor:
        return ""
    query = query.copy()
    query["cursor"] = cursor
    return f"?{query.urlencode()}"


@desk_view
@require_POST
def inbox_bulk(request: HttpRequest) -> HttpResponse:
    """Apply one change to every ticked ticket; back to the same inbox page with a
    summary. Bad input shows the inbox again (400) with nothing written."""
    user = _user(request)
    form = BulkUpdateForm(request.POST, user=user)
    if not form.is_valid():
        return render_inbox(request, form.back_query(), status=400, bulk_form=form)
    try:
        result = bulk.bulk_update(
            form.numbers(), acting_user=user, changes=form.changes()
        )
    except TicketError as error:
        form.add_error(None, error.message)
        return render_inbox(
            request, form.back_query(), status=error.status, bulk_form=form
        )
    level, summary = bulk_summary(result)
    messages.add_message(request, level, summary)
    return redirect(form.back_url())


def bulk_summary(result: bulk.BulkResult) -> tuple[int, str]:
    """The flash message for a bulk change, and its level: "3 tickets updated;
    2 not changed: #12, #14: Send the customer a public reply before solving…".
    Tickets refused for the same reason share it."""
    updated = len(result.updated)
    parts = [f"{_tickets(updated) if updated else 'No tickets'} updated"]
    if result.unchanged:
        parts.append(f"{len(result.unchanged)} already as chosen")
    if result.refused:
        by_reason: dict[str, list[int]] = {}
        for number, refusal in result.refused.items():
            by_reason.setdefault(refusal.message.rstrip("."), []).append(number)
        reasons = [f"{_numbers(ns)}: {reason}" for reason, ns in by_reason.items()]
        parts.append(f"{len(result.refused)} not changed: {'; '.join(reasons)}")
    if not result.refused:
        level = messages.SUCCESS if updated else messages.INFO
    else:
        level = messages.WARNING if updated else messages.ERROR
    return level, "; ".join(parts) + "."


def _tickets(count: int) -> str:
    return f"{count} ticket{'s' if count != 1 else ''}"


def _numbers(numbers: list[int], shown: int = 8) -> str:
    listed = ", ".join(f"#{n}" for n in numbers[:shown])
    more = len(numbers) - shown
    return f"{listed} and {more} more" if more > 0 else listed


# The ticket page


def render_ticket(
    request: HttpRequest,
    ticket: Ticket,
    *,
    status: int = 200,
    error: str = "",
    **forms: Any,
) -> HttpResponse:
    """The ticket page; ``forms`` replaces a default form with a bound one to redisplay."""
    user = _user(request)
    can = {
        "reply": access.can_reply_publicly(user, ticket),
        "note": access.can_add_note(user, ticket),
        "status": access.can_change_status(user, ticket),
        "edit": access.can_edit_ticket(user, ticket),
        "merge": access.can_merge_and_split(user),
    }
    conversation = list(
        access.visible_messages(user, ticket).select_related("origin_ticket")
    )
    can_write = not ticket.merged_into_id and ticket.status != Ticket.Status.CLOSED
    context = {
        "ticket": ticket,
        "conversation": conversation,
        "can": can,
        "can_write": can_write,
        # split_ticket leaves at least one message behind, so it needs two to choose from.
        "can_split": can["merge"] and can_write and len(conversation) > 1,
        "error": error,
        "reply_form": ReplyForm(ticket=ticket, user=user),
        "update_form": TicketUpdateForm(ticket=ticket, user=user),
        "escalate_form": EscalateForm(),
        "merge_form": MergeForm(),
        "split_form": SplitForm(ticket=ticket),
        "macros": macro_choices(ticket, user),
        "merged_here": ticket.merged_tickets.order_by("number"),
        "split_out": ticket.split_tickets.order_by("number"),
        "history": ticket_history(ticket),
        "presence": collision_warning(ticket, user),
        "presence_seconds": settings.PRESENCE_SECONDS,
        **forms,
    }
    return render(request, "tickets/desk/ticket.html", context, status=status)


def _refused(
    request: HttpRequest, ticket: Ticket, error: TicketError, **forms: Any
) -> HttpResponse:
    # The transaction rolled back, but the objects in memory may hold the refused
    # values; show what is really stored.
    ticket.refresh_from_db()
    return render_ticket(
        request, ticket, status=error.status, error=error.message, **forms
    )


@desk_view
@require_GET
def ticket_detail(request: HttpRequest, number: int) -> HttpResponse:
    # The people and organization the page names, in the same query (four fewer).
    ticket = access.get_ticket_for(
        request.user,
        number,
        related=("organization", "requester", "owner", "assignee", "sla__policy"),
    )
    return render_ticket(request, ticket)


@desk_view
@require_POST
def ticket_reply(request: HttpRequest, number: int) -> HttpResponse:
    user = _user(request)
    ticket = access.get_ticket_for(user, number)
    form = ReplyForm(request.POST, request.FILES, ticket=ticket, user=user)
    if not form.is_valid():
        return render_ticket(request, ticket, status=400, reply_form=form)
    data = form.cleaned_data
    try:
        if data["macro"]:
            message = apply_macro(
                ticket,
                data["macro"],
                acting_user=user,
                body=data["body"],
                uploads=data["attachments"],
            )
        else:
            message = add_message(
                ticket,
                author=user,
                body=data["body"],
                kind=data["kind"],
                channel=Ticket.Channel.AGENT,
                uploads=data["attachments"],
                new_status=data.get("new_status") or None,
            )
    except TicketError as error:
        return _refused(request, ticket, error, reply_form=form)
    messages.success(request, "Note added." if message.is_internal else "Reply sent.")
    return redirect(_detail(ticket, f"message-{message.pk}"))


@desk_view
@require_POST
def ticket_update(request: HttpRequest, number: int) -> HttpResponse:
    user = _user(request)
    ticket = access.get_ticket_for(user, number)
    form = TicketUpdateForm(request.POST, ticket=ticket, user=user)
    refused = [
        name
        for name in ("status", *TicketUpdateForm.EDIT_FIELDS)
        if (name in request.POST or f"{name}_shown" in request.POST)
        and name not in form.fields
    ]
    if refused or not form.fields:
        return _refused(request, ticket, NOT_ALLOWED["edit"])
    if not form.is_valid():
        return render_ticket(request, ticket, status=400, update_form=form)
    try:
        changed = save_properties(ticket, form.cleaned_data, form.field_changes(), user)
    except TicketError as error:
        return _refused(request, ticket, error, update_form=form)
    if changed:
        messages.success(request, f"Saved: {', '.join(changed)}.")
    else:
        messages.info(request, "Nothing changed.")
    return redirect(_detail(ticket))


def save_properties(
    ticket: Ticket, data: dict[str, Any], changes: dict[str, Any], user: User
) -> list[str]:
    """Apply the properties column in one transaction: all of it or none of it.
    Status goes last, so a refused status leaves the other fields unsaved too."""
    changed: list[str] = []
    with transaction.atomic():
        if changes:
            changed += update_ticket(ticket, acting_user=user, **changes)
        if "tags" in data:
            before = sorted(ticket.tags.values_list("name", flat=True))
            if sorted(set_tags(ticket, data["tags"], acting_user=user)) != before:
                changed.append("tags")
        if "followers" in data:
            before_ids = set(ticket.followers.values_list("pk", flat=True))
            set_followers(ticket, data["followers"], acting_user=user)
            if before_ids != {u.pk for u in data["followers"]}:
                changed.append("followers")
        if "status" in data and data["status"] != ticket.status:
            change_status(ticket, data["status"], acting_user=user)
            changed.append("status")
    return changed


@desk_view
@require_POST
def ticket_escalate(request: HttpRequest, number: int) -> HttpResponse:
    user = _user(request)
    ticket = access.get_ticket_for(user, number)
    form = EscalateForm(request.POST)
    if not form.is_valid():
        return render_ticket(request, ticket, status=400, escalate_form=form)
    team = form.cleaned_data["team"]
    try:
        escalate_ticket(
            ticket, team=team, note=form.cleaned_data["note"], acting_user=user
        )
    except TicketError as error:
        return _refused(request, ticket, error, escalate_form=form)
    messages.success(
        request, f"Escalated to {team.name}. You stay the customer's contact."
    )
    return redirect(_detail(ticket))


@desk_view
@require_GET
def ticket_macro_preview(request: HttpRequest, number: int) -> HttpResponse:
    """The composer's fields, filled with the chosen macro (or blank to clear it)."""
    user = _user(request)
    ticket = access.get_ticket_for(user, number)
    macro: Macro | None = None
    if request.GET.get("macro"):
        macro = (
            macro_choices(ticket, user).filter(pk=_int(request.GET["macro"])).first()
        )
        if macro is None:
            raise Http404("No such macro")
    initial = {}
    if macro is not None:
        initial = {
            "body": render_macro(macro, ticket, user),
            "macro": macro.pk,
            "kind": macro.kind,
        }
    form = ReplyForm(ticket=ticket, user=user, initial=initial)
    context = {"ticket": ticket, "reply_form": form, "macro": macro}
    return render(request, "tickets/desk/_composer_fields.html", context)


def _int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise Http404("Not a number") from None


@desk_view
@require_http_methods(["GET", "POST"])
def ticket_merge(request: HttpRequest, number: int) -> HttpResponse:
    """GET: choose the target and see the notices customers will get; POST: merge."""
    user = _user(request)
    source = access.get_ticket_for(user, number)
    if not access.can_merge_and_split(user):
        return _refused(request, source, NOT_ALLOWED["merge"])
    if request.method == "GET":
        form = MergeForm(request.GET or None)
        target = _merge_target(user, form)
        if target is None:
            return _merge_page(
                request, source, None, form, status=400 if form.is_bound else 200
            )
        source_notice, target_notice = default_merge_notices(source, target)
        form = MergeForm(
            initial={
                "target": target.number,
                "notify": request.GET.get("notify") or "source",
                "source_notice": source_notice,
                "target_notice": target_notice,
            }
        )
        return _merge_page(request, source, target, form, status=200)
    form = MergeForm(request.POST)
    target = _merge_target(user, form)
    if target is None or not form.is_valid():
        return _merge_page(request, source, target, form, status=400)
    notify_source, notify_target = form.notify_flags()
    try:
        merge_tickets(
            source,
            target,
            acting_user=user,
            notify_source=notify_source,
            notify_target=notify_target,
            source_notice=form.cleaned_data["source_notice"],
            target_notice=form.cleaned_data["target_notice"],
        )
    except TicketError as error:
        form.add_error(None, error.message)
        return _merge_page(request, source, target, form, status=error.status)
    messages.success(request, f"Merged {source.reference} into {target.reference}.")
    return redirect(_detail(target))


def _merge_target(user: User, form: MergeForm) -> Ticket | None:
    """The ticket the form names, if the user can see it; else a form error."""
    if not form.is_bound:
        return None
    form.is_valid()
    number = form.cleaned_data.get("target")
    if number is None:
        return None
    try:
        return access.get_ticket_for(user, number)
    except Http404:
        form.add_error("target", f"There is no ticket #{number} you can see.")
        return None


def _merge_page(
    request: HttpRequest,
    source: Ticket,
    target: Ticket | None,
    form: MergeForm,
    *,
    status: int,
) -> HttpResponse:
    context = {"ticket": source, "target": target, "form": form}
    return render(request, "tickets/desk/merge.html", context, status=status)


@desk_view
@require_POST
def ticket_split(request: HttpRequest, number: int) -> HttpResponse:
    user = _user(request)
    ticket = access.get_ticket_for(user, number)
    if not access.can_merge_and_split(user):
        return _refused(request, ticket, NOT_ALLOWED["merge"])
    form = SplitForm(request.POST, ticket=ticket)
    if not form.is_valid():
        return render_ticket(request, ticket, status=400, split_form=form)
    try:
        new = split_ticket(
            ticket,
            message_ids=form.cleaned_data["message_ids"],
            acting_user=user,
            subject=form.cleaned_data["subject"],
        )
    except TicketError as error:
        return _refused(request, ticket, error, split_form=form)
    count = len(form.cleaned_data["message_ids"])
    messages.success(
        request,
        f"Moved {count} message{'s' if count > 1 else ''} into the new ticket {new.reference}.",
    )
    return redirect(_detail(new))


@desk_view
@require_POST
def ticket_undo_merge(request: HttpRequest, number: int) -> HttpResponse:
    user = _user(request)
    ticket = access.get_ticket_for(user, number)
    try:
        undo_merge(ticket, acting_user=user)
    except TicketError as error:
        return _refused(request, ticket, error)
    messages.success(request, f"{ticket.reference} is its own ticket again.")
    return redirect(_detail(ticket))


@desk_view
@require_POST
def ticket_presence(request: HttpRequest, number: int) -> HttpResponse:
    """Record that the user is on the ticket; answer with who else is (htmx poll)."""
    user = _user(request)
    activity = request.POST.get("activity", TicketPresence.Activity.VIEWING)
    if activity not in TicketPresence.Activity.values:
        return HttpResponse("Unknown activity.", status=400, content_type="text/plain")
    ticket = access.get_ticket_for(user, number)
    record_presence(ticket, user, activity)
    context = {"presence": collision_warning(ticket, user)}
    return render(request, "tickets/desk/_presence.html", context)


# Suggestions for the person boxes


LIST_ID = re.compile(r"^[\w-]{1,80}$")


@desk_view
@require_GET
def people_suggest(request: HttpRequest) -> HttpResponse:
    """A ``<datalist>`` of a few people matching what was typed into a person box
    (htmx swaps it in; the browser offers its options). A box for several people
    is completed on its last name, keeping the ones before it."""
    user = _user(request)
    scope = request.GET.get("scope", "")
    list_id = request.GET.get("list", "")
    if scope not in PERSON_SCOPES or not LIST_ID.match(list_id):
        return HttpResponse("Unknown list.", status=400, content_type="text/plain")
    ticket = None
    if request.GET.get("ticket"):
        number = as_id(request.GET["ticket"], below=INTEGER_MAX)
        ticket = access.get_ticket_for(user, number) if number else None
        if ticket is None or not access.can_edit_ticket(user, ticket):
            raise Http404("No such ticket")
    typed = request.GET.get(request.GET.get("box", ""), "")[:5000]
    before, _, last = typed.rpartition(",") if scope == "followers" else ("", "", typed)
    prefix = f"{before.strip()}, " if before.strip() else ""
    # people_for limits itself to what ``user`` may see: workers through
    # visible_users, a ticket's people only for those who may edit it (above).
    people = people_for(scope, user, ticket)
    options = [(prefix + p.email, p.display_name) for p in suggest(people, last)]
    return render(
        request,
        "tickets/desk/_people_suggestions.html",
        {"list_id": list_id, "options": options},
    )


# Opening a ticket for a customer


@desk_view
@require_http_methods(["GET", "POST"])
def ticket_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not access.can_open_ticket_for_customer(user):
        return render(
            request,
            "tickets/desk/new.html",
            {"form": None, "error": NOT_ALLOWED["open"].message},
            status=403,
        )
    if request.method == "GET":
        return render(
            request, "tickets/desk/new.html", {"form": NewTicketForm(user=user)}
        )
    form = NewTicketForm(request.POST, request.FILES, user=user)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        new = NewTicket(
            requester=data["requester"],
            subject=data["subject"],
            body=data["body"],
            channel=data["channel"],
            product=data["product"],
            priority=data["priority"],
            uploads=data["attachments"],
        )
        try:
            submitted = submit(
                new, acting_user=user, idempotency_key=f"desk:{data['token']}"
            )
        except TicketError as error:
            form.add_error(None, error.message)
            status = error.status
        else:
            ticket = submitted.ticket
            messages.success(
                request,
                f"Opened {ticket.reference} for {data['requester'].display_name}.",
            )
            return redirect(_detail(ticket))
    return render(request, "tickets/desk/new.html", {"form": form}, status=status)
