"""Downloading attachments, through the same access rules as the conversation."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def download(request: HttpRequest, pk: int, filename: str) -> HttpResponse:
    raise NotImplementedError
