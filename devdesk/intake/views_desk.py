"""The desk's mail pages: stored e-mail as it arrived, and the quarantine.

Admins list every stored message (by default those that need a person: quarantined
and refused) and retry one after a fix; agents open a single stored message (its
headers, the text as read, the raw source) from the ticket it became.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from devdesk.intake.mail import services
from devdesk.intake.mail.parse import Unparseable, parse
from devdesk.intake.models import InboundEmail
from devdesk.lib.guards import signed_in_and
from devdesk.lib.keyset import InvalidCursor, page_url, paginate
from devdesk.tickets import access

MAIL_PER_PAGE = 50
NEEDS_ATTENTION = "attention"
FILTERS = {
    NEEDS_ATTENTION: ("Needs attention", ["quarantined", "refused", "received"]),
    **{value: (label, [value]) for value, label in InboundEmail.Outcome.choices},
    "all": ("All", []),
}
SHOWN_HEADERS = (
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Auto-Submitted",
    "List-Id",
    "Precedence",
    "Content-Type",
)

mail_admin_view = signed_in_and(access.can_manage_mail)
desk_view = signed_in_and(access.can_use_agent_desk)


def _readable(request: HttpRequest, inbound: InboundEmail) -> InboundEmail:
    if not access.can_read_mail(request.user, inbound.ticket):
        raise Http404("No such e-mail")
    return inbound


@require_GET
@mail_admin_view
def mail_list(request: HttpRequest) -> HttpResponse:
    shown = request.GET.get("outcome", NEEDS_ATTENTION)
    if shown not in FILTERS:
        shown = NEEDS_ATTENTION
    outcomes = FILTERS[shown][1]
    mail = InboundEmail.objects.defer("raw").select_related("ticket", "mailbox")
    if outcomes:
        mail = mail.filter(outcome__in=outcomes)
    error = ""
    ordering, cursor = ("-received_at", "-id"), request.GET.get("cursor")
    try:
        page = paginate(mail, ordering=ordering, cursor=cursor, size=MAIL_PER_PAGE)
    except InvalidCursor as exc:
        error = str(exc)
        page = paginate(mail, ordering=ordering, cursor=None, size=MAIL_PER_PAGE)
    return render(
        request,
        "intake/desk/mail_list.html",
        {
            "mail": page.items,
            "next_url": page_url(request, page.next_cursor),
            "previous_url": page_url(request, page.previous_cursor),
            "error": error,
            "shown": shown,
            "filters": [(key, label) for key, (label, _) in FILTERS.items()],
        },
    )


@require_GET
@desk_view
def mail_detail(request: HttpRequest, pk: int) -> HttpResponse:
    inbound = _readable(
        request,
        get_object_or_404(
            InboundEmail.objects.select_related("ticket", "mailbox"), pk=pk
        ),
    )
    headers: list[tuple[str, str]] = []
    text, problem = "", ""
    try:
        parsed = parse(bytes(inbound.raw))
        headers = [(n, parsed.header(n)) for n in SHOWN_HEADERS if parsed.header(n)]
        text = parsed.text
    except Unparseable as exc:
        problem = exc.reason
    return render(
        request,
        "intake/desk/mail_detail.html",
        {
            "inbound": inbound,
            "headers": headers,
            "text": text,
            "problem": problem,
            "may_retry": access.can_manage_mail(request.user),
        },
    )


@require_GET
@desk_view
def mail_raw(request: HttpRequest, pk: int) -> HttpResponse:
    inbound = _readable(
        request, get_object_or_404(InboundEmail.objects.select_related("ticket"), pk=pk)
    )
    response = HttpResponse(bytes(inbound.raw), content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="mail-{inbound.pk}.eml"'
    return response


@require_GET
@desk_view
def mail_for_message(request: HttpRequest, message_id: int) -> HttpResponse:
    """The e-mail a ticket's message came from (the ticket page links here)."""
    inbound = (
        InboundEmail.objects.select_related("ticket")
        .filter(ticket_message_id=message_id)
        .order_by("id")
        .first()
    )
    if inbound is None:
        raise Http404("No such e-mail")
    return redirect("mail:detail", pk=_readable(request, inbound).pk)


@require_POST
@mail_admin_view
def mail_retry(request: HttpRequest, pk: int) -> HttpResponse:
    inbound = get_object_or_404(InboundEmail, pk=pk)
    if inbound.outcome not in {
        InboundEmail.Outcome.QUARANTINED,
        InboundEmail.Outcome.REFUSED,
        InboundEmail.Outcome.RECEIVED,
    }:
        messages.error(
            request, "Only quarantined, refused or unprocessed mail is retried."
        )
        return redirect("mail:detail", pk=pk)
    inbound = services.retry(inbound)
    messages.success(request, f"Processed again: {inbound.get_outcome_display()}.")
    return redirect("mail:detail", pk=pk)
