"""Desk actions of scope and cool-down: decline, clear the flag, end a cool-down.
Each is a POST from the ticket page's banner, answered with a redirect back."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from devdesk.accounts.models import User
from devdesk.tickets import access
from devdesk.tickets.errors import TicketError
from devdesk.tickets.models import Ticket
from devdesk.tickets.views.desk import _refused, desk_view
from devdesk.triage import cooldown, scope


def _act(
    request: HttpRequest, number: int, action: Callable[[Ticket, User], str]
) -> HttpResponse:
    user = cast(User, request.user)
    ticket = access.get_ticket_for(user, number)
    try:
        done = action(ticket, user)
    except TicketError as error:
        return _refused(request, ticket, error)
    messages.success(request, done)
    return redirect("desk:ticket-detail", number=ticket.number)


@desk_view
@require_POST
def decline(request: HttpRequest, number: int) -> HttpResponse:
    def send(ticket: Ticket, user: User) -> str:
        scope.decline(ticket, acting_user=user)
        return "Sent the polite decline."

    return _act(request, number, send)


@desk_view
@require_POST
def scope_clear(request: HttpRequest, number: int) -> HttpResponse:
    def clear(ticket: Ticket, user: User) -> str:
        scope.clear(ticket, acting_user=user)
        return "Marked in scope."

    return _act(request, number, clear)


@desk_view
@require_POST
def release(request: HttpRequest, number: int) -> HttpResponse:
    def end(ticket: Ticket, user: User) -> str:
        cooldown.release(ticket, reason="ended by an agent", acting_user=user)
        return "Cool-down ended."

    return _act(request, number, end)
