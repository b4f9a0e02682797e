"""Server-Timing: how long a request spent in the database, and in all.

With ``SERVER_TIMING=1`` every response carries

    Server-Timing: db;dur=12.4;desc="7 queries", total;dur=31.0

so a browser's network panel, or the benchmark harness reading responses, sees
where the time went without a profiler. The module needs nothing but Django, so the
benchmark peer (another Django project) installs the very same middleware.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from django.db import connections
from django.http import HttpRequest, HttpResponse


class _QueryClock:
    """An execute wrapper: counts queries and adds up the time they take."""

    def __init__(self) -> None:
        self.queries = 0
        self.seconds = 0.0

    def __call__(
        self,
        execute: Callable[..., Any],
        sql: str,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.queries += 1


def server_timing_header(clock: _QueryClock, total_seconds: float) -> str:
    return (
        f'db;dur={clock.seconds * 1000:.1f};desc="{clock.queries} queries", '
        f"total;dur={total_seconds * 1000:.1f}"
    )


class ServerTimingMiddleware:
    """Add a ``Server-Timing`` header with database time, query count and total.

    Placed first in ``MIDDLEWARE`` so "total" covers the other middleware too. A
    streamed response is timed up to its first byte.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        clock = _QueryClock()
        started = time.perf_counter()
        with ExitStack() as stack:
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(clock))
            response = self.get_response(request)
        response["Server-Timing"] = server_timing_header(
            clock, time.perf_counter() - started
        )
        return response
