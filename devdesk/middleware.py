"""Request middleware of our own."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db.utils import OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.utils import timezone

from devdesk.lib.db import is_query_timeout

logger = logging.getLogger(__name__)


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


class QueryTimeoutMiddleware:
    """A query PostgreSQL cancelled (``statement_timeout``) is a 503 page that says
    so, not a 500 or a stack trace. The API answers its own JSON for it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        if not isinstance(exception, OperationalError) or not is_query_timeout(
            exception
        ):
            return None
        logger.warning("Query timeout on %s %s", request.method, request.path)
        # Rendered without the request, like the 500 page: its context processors
        # would query the database again.
        context = {
            "status": 503,
            "title": "This took too long",
            "text": "The database took too long to answer, so we stopped. Please try "
            "again in a moment; on a list, narrower filters help.",
            "site_name": settings.SITE_NAME,
        }
        return HttpResponse(loader.render_to_string("error.html", context), status=503)
