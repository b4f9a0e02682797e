"""Request middleware of our own."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.http import HttpRequest, HttpResponse
from django.utils import timezone


def user_time_zone(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Show times in the signed-in person's own time zone (UTC for everyone else)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        zone_name = (
            getattr(request.user, "time_zone", "")
            if request.user.is_authenticated
            else ""
        )
        timezone.deactivate()
        # A stale or mistyped zone falls back to UTC rather than failing the page.
        if zone_name:
            with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
                timezone.activate(ZoneInfo(zone_name))
        return get_response(request)

    return middleware
