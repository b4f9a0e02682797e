"""The agent desk: inbox views and the ticket page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def inbox(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def ticket_detail(request: HttpRequest, number: int) -> HttpResponse:
    raise NotImplementedError
