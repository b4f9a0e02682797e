"""The customer portal: the organization's tickets, opening one, replying.

People who work the desk are sent to the desk's page for the same thing; the portal
only ever shows what a customer may see (no internal notes, customer wording).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from devdesk.accounts import throttle
from devdesk.accounts.models import User
from devdesk.intake.services import submit
from devdesk.lib.keyset import InvalidCursor, paginate
from devdesk.tickets import access
from devdesk.tickets.errors import TicketError
from devdesk.tickets.forms_portal import NewTicketForm, ReplyForm, TicketFilterForm
from devdesk.tickets.models import Ticket
from devdesk.tickets.services import add_message

Status = Ticket.Status
ORDERING = ("-updated_at", "-id")

# What each status means to the person waiting for an answer.
CUSTOMER_STATUS: dict[str, str] = {
    Status.NEW: "Received",
    Status.OPEN: "We're on it",
    Status.PENDING_ENGINEERING: "With our engineers",
    Status.PENDING_CUSTOMER: "Waiting for your reply",
    Status.SOLVED: "Solved",
    Status.CLOSED: "Closed",
}


@dataclass(frozen=True)
class Row:
    ticket: Ticket
    status_label: str


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    is_current: bool


def _list_url(show: str, mine: bool, q: str = "", cursor: str | None = None) -> str:
    params = {
        "show": "" if show == "all" else show,
        "mine": "1" if mine else "",
        "q": q,
        "cursor": cursor,
    }
    query = urlencode({k: v for k, v in params.items() if v})
    return reverse("portal:ticket-list") + (f"?{query}" if query else "")


def _filter_links(show: str, mine: bool, q: str) -> tuple[list[Link], Link]:
    """The status tabs (each keeping "opened by me" and the search) and the
    "opened by me" toggle."""
    tabs = [
        Link(label, _list_url(key, mine, q), key == show)
        for key, (label, _) in TicketFilterForm.SHOW.items()
    ]
    return tabs, Link("Opened by me", _list_url(show, not mine, q), mine)


def _customer(request: HttpRequest) -> User:
    if not isinstance(request.user, User):  # login_required normally ran first
        raise PermissionDenied
    return request.user


def _detail_url(ticket: Ticket) -> str:
    return reverse("portal:ticket-detail", args=[ticket.number])


@login_required
def ticket_list(request: HttpRequest) -> HttpResponse:
    if access.can_use_agent_desk(request.user):
        return redirect("desk:inbox")
    user = _customer(request)
    filters = TicketFilterForm(request.GET)
    valid = filters.is_valid()
    show, mine, q = (
        filters.cleaned_data.get("show", "all"),
        filters.cleaned_data.get("mine", False),
        filters.cleaned_data.get("q", ""),
    )
    tabs, mine_toggle = _filter_links(show, mine, q)
    context: dict[str, Any] = {
        "filters": filters,
        "tabs": tabs,
        "mine_toggle": mine_toggle,
        "show": show,
        "mine": mine,
        "q": q,
        "page": None,
        "rows": [],
    }
    if not valid:
        context["error"] = "These filters are not valid; pick one of the tabs."
        return render(request, "tickets/portal/ticket_list.html", context, status=400)
    tickets = filters.apply(access.visible_tickets(user), user).select_related(
        "requester", "product"
    )
    try:
        page = paginate(
            tickets,
            ordering=ORDERING,
            cursor=filters.cleaned_data["cursor"] or None,
            size=settings.INBOX_PAGE_SIZE,
        )
    except InvalidCursor as exc:
        context["error"] = str(exc).capitalize() + "."
        return render(request, "tickets/portal/ticket_list.html", context, status=400)
    context["page"] = page
    context["rows"] = [Row(t, CUSTOMER_STATUS[t.status]) for t in page.items]
    if page.next_cursor:
        context["next_url"] = _list_url(show, mine, q, page.next_cursor)
    if page.previous_cursor:
        context["previous_url"] = _list_url(show, mine, q, page.previous_cursor)
    if not page.items:
        context["has_any"] = access.visible_tickets(user).exists()
    return render(request, "tickets/portal/ticket_list.html", context)


def _follow_up_initial(user: User, number: str) -> dict[str, Any]:
    if not number.isdigit():
        raise Http404("No such ticket")
    earlier = access.get_ticket_for(user, int(number))
    subject = f"Follow-up: {earlier.subject}"[: settings.TICKET_SUBJECT_MAX_CHARS]
    return {
        "subject": subject,
        "product": earlier.product_id,
        "body": f"Following up on {earlier.reference} ({earlier.subject}).\n\n",
    }


def _submit(form: NewTicketForm, user: User) -> Ticket:
    new = form.new_ticket(user)
    key = form.cleaned_data["idempotency_key"] or None
    try:
        return submit(new, acting_user=user, idempotency_key=key).ticket
    except TicketError as exc:
        if exc.code != "idempotency_conflict":
            raise
        # The form was sent again after an edit (the back button keeps the old key):
        # different content is a different ticket.
        return submit(new, acting_user=user).ticket


def _over_submission_limit(user: User, form: NewTicketForm | ReplyForm) -> bool:
    """True (and an error on ``form``) when ``user`` sent too many this hour."""
    limit = throttle.submissions_per_person()
    if not throttle.is_blocked(limit, str(user.pk)):
        return False
    form.add_error(
        None,
        f"You sent {limit.attempts} requests and replies in the last hour, the most "
        "we accept. Nothing was sent this time; please wait a while and try again.",
    )
    return True


def _too_many(response: HttpResponse) -> HttpResponse:
    response["Retry-After"] = str(throttle.submissions_per_person().window_seconds)
    return response


@login_required
def ticket_new(request: HttpRequest) -> HttpResponse:
    if access.can_use_agent_desk(request.user):
        return redirect("desk:inbox")
    user = _customer(request)
    products = access.visible_products(user)
    if request.method != "POST":
        follow_up = request.GET.get("follow_up")
        initial = _follow_up_initial(user, follow_up) if follow_up else {}
        form = NewTicketForm(initial=initial, products=products)
        return render(request, "tickets/portal/ticket_new.html", {"form": form})
    form = NewTicketForm(request.POST, request.FILES, products=products)
    if _over_submission_limit(user, form):
        return _too_many(
            render(
                request, "tickets/portal/ticket_new.html", {"form": form}, status=429
            )
        )
    status = 400
    if form.is_valid():
        try:
            ticket = _submit(form, user)
        except TicketError as exc:
            form.add_error(None, exc.message)
            status = exc.status
        else:
            throttle.count(throttle.submissions_per_person(), str(user.pk))
            messages.success(
                request,
                f"We received your request {ticket.reference}. We'll e-mail {user.email} "
                "when we reply.",
            )
            return redirect(_detail_url(ticket))
    return render(
        request, "tickets/portal/ticket_new.html", {"form": form}, status=status
    )


def _detail_page(
    request: HttpRequest, ticket: Ticket, form: ReplyForm, *, status: int = 200
) -> HttpResponse:
    user = _customer(request)
    merged_into = None
    if ticket.merged_into_id:
        merged_into = (
            access.visible_tickets(user).filter(pk=ticket.merged_into_id).first()
        )
    context = {
        "ticket": ticket,
        "status_label": CUSTOMER_STATUS[ticket.status],
        "conversation": access.visible_messages(user, ticket).select_related(
            "origin_ticket"
        ),
        "merged_into": merged_into,
        "can_reply": not ticket.merged_into_id and ticket.status != Status.CLOSED,
        "form": form,
    }
    return render(request, "tickets/portal/ticket_detail.html", context, status=status)


@login_required
def ticket_detail(request: HttpRequest, number: int) -> HttpResponse:
    if access.can_use_agent_desk(request.user):
        return redirect("desk:ticket-detail", number=number)
    ticket = access.get_ticket_for(request.user, number)
    return _detail_page(request, ticket, ReplyForm())


@login_required
@require_POST
def ticket_reply(request: HttpRequest, number: int) -> HttpResponse:
    if access.can_use_agent_desk(request.user):
        return redirect("desk:ticket-detail", number=number)
    ticket = access.get_ticket_for(request.user, number)
    form = ReplyForm(request.POST, request.FILES)
    if _over_submission_limit(_customer(request), form):
        return _too_many(_detail_page(request, ticket, form, status=429))
    status = 400
    if form.is_valid():
        was_solved = ticket.status == Status.SOLVED
        try:
            message = add_message(
                ticket,
                author=_customer(request),
                body=form.cleaned_data["body"],
                channel=Ticket.Channel.PORTAL,
                uploads=form.cleaned_data["attachments"],
            )
        except TicketError as exc:
            form.add_error(None, exc.message)
            status = exc.status
        else:
            throttle.count(throttle.submissions_per_person(), str(request.user.pk))
            reopened = " The ticket is open again." if was_solved else ""
            messages.success(request, f"Your reply was sent.{reopened}")
            return redirect(f"{_detail_url(ticket)}#message-{message.pk}")
    return _detail_page(request, ticket, form, status=status)
