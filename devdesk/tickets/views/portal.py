"""The customer portal: the organization's tickets, opening one, replying."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def ticket_list(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def ticket_detail(request: HttpRequest, number: int) -> HttpResponse:
    raise NotImplementedError
