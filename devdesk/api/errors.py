"""Every API failure becomes JSON ``{"code": ..., "message": ...}`` with a 4xx status.

Domain errors (:class:`TicketError`) keep their stable code and status; ninja's
validation errors name the field that is wrong; Django's 404 and a bad cursor get the
same shape. Over a rate limit the answer is 429 with ``Retry-After``; a query that
PostgreSQL cancelled (statement timeout) is a 503. Anything unexpected is logged and answered with a JSON 500, never a page
or a stack trace.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.db.utils import OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from devdesk.lib.db import is_query_timeout
from devdesk.lib.keyset import InvalidCursor
from devdesk.tickets.errors import TicketError

logger = logging.getLogger(__name__)

# The status codes every operation may answer with, for the OpenAPI description.
ERROR_STATUSES = frozenset({400, 401, 403, 404, 409, 413, 422, 429, 503})

_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "not_allowed",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_too_large",
    422: "invalid_input",
}


class ApiError(Exception):
    """A refusal decided in the API layer (a bad reference in a body, a role that may
    not use an endpoint); the same shape as :class:`TicketError`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class RateLimited(ApiError):
    """Too many requests in the current window; ``retry_after`` is in seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(429, "rate_limited", message)
        self.retry_after = retry_after


def error_response(status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    response = JsonResponse({"code": code, "message": message, **extra}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="devdesk API"'
    return response


def describe_field(loc: Sequence[Any]) -> str:
    """``("body", "payload", "attachments", 0, "filename")`` -> ``attachments[0].filename``.

    The first item is where the value came from; body parameters are all named
    ``payload`` in our handlers, which is not something a client ever typed.
    """
    source, *parts = loc
    if source == "body" and parts and parts[0] == "payload":
        parts = parts[1:]
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    if not name:
        return "request body" if source == "body" else str(source)
    if source in {"query", "header", "path"}:
        return f"{name} ({source})"
    return name


def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = []
    for error in exc.errors:
        field = describe_field(error.get("loc", ("body",)))
        text = str(error.get("msg", "is not valid"))
        if field == "request body" and error.get("type") == "missing":
            text = "a JSON object is required"
        problems.append({"field": field, "message": text})
    message = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return error_response(
        422, "invalid_input", message or "The input is not valid.", errors=problems
    )


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc, AuthenticationError):
        message = exc.message
        if message == "Unauthorized":  # ninja's own text when no credentials came
            message = "Send an API token in the header 'Authorization: Bearer <token>'."
        return error_response(401, "unauthenticated", message)
    if exc.status_code == 400 and exc.message.startswith("Cannot parse request body"):
        return error_response(
            400, "malformed_json", "The request body is not valid JSON (UTF-8) text."
        )
    code = _CODES.get(exc.status_code, "error")
    return error_response(exc.status_code, code, exc.message)


def _ticket_error(request: HttpRequest, exc: TicketError) -> HttpResponse:
    return error_response(exc.status, exc.code, exc.message)


def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    response = error_response(exc.status, exc.code, exc.message)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


def _operational_error(request: HttpRequest, exc: OperationalError) -> HttpResponse:
    if not is_query_timeout(exc):
        return _unexpected(request, exc)
    logger.warning("Query timeout on %s %s", request.method, request.path)
    return error_response(
        503,
        "query_timeout",
        "The database took too long to answer and the request was stopped. Try again "
        "with narrower filters or a smaller page, or later.",
    )


def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    message = str(exc) or "Not found"
    return error_response(
        404, "not_found", f"{message}, or you do not have access to it."
    )


def _permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return error_response(403, "not_allowed", str(exc) or "You may not do this.")


def _invalid_cursor(request: HttpRequest, exc: InvalidCursor) -> HttpResponse:
    return error_response(400, "invalid_cursor", f"cursor: {exc}.")


def _suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    if isinstance(exc, RequestDataTooBig):
        return error_response(
            413,
            "request_too_large",
            "The request body is too large. Send fewer or smaller attachments per request.",
        )
    return error_response(400, "bad_request", "The request could not be understood.")


def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.error("API error on %s %s", request.method, request.path, exc_info=exc)
    return error_response(
        500,
        "server_error",
        "Something went wrong on our side; it was logged. Try again later.",
    )


def install_error_handlers(api: NinjaAPI) -> None:
    """Replace ninja's default handlers (``{"detail": ...}``) with ours."""
    handlers: list[tuple[type[Exception], Callable[..., HttpResponse]]] = [
        (Exception, _unexpected),
        (ValidationError, _validation_error),
        (HttpError, _http_error),
        (TicketError, _ticket_error),
        (ApiError, _api_error),
        (Http404, _not_found),
        (PermissionDenied, _permission_denied),
        (InvalidCursor, _invalid_cursor),
        (SuspiciousOperation, _suspicious),
        (OperationalError, _operational_error),
    ]
    for exc_class, handler in handlers:
        api.add_exception_handler(exc_class, handler)


def json_method_not_allowed(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """Wrap a ninja path view so its 405 is our JSON error, naming the allowed methods."""

    @functools.wraps(view)  # keeps csrf_exempt, which ninja sets on the view
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code != 405 or response.get("Content-Type", "").startswith(
            "application/json"
        ):
            return response
        allowed = response.get("Allow", "")
        json_response = error_response(
            405,
            "method_not_allowed",
            f"{request.method} is not allowed on {request.path}; use {allowed}.",
        )
        json_response["Allow"] = allowed
        return json_response

    return wrapped


@csrf_exempt  # token-authenticated API: a POST to a wrong path must get JSON, not CSRF's HTML
def unknown_endpoint(request: HttpRequest, rest: str = "") -> HttpResponse:
    """What any path under /api/ that matches no endpoint answers."""
    return error_response(
        404,
        "not_found",
        f"There is no API endpoint at {request.path}. The endpoints are listed at "
        "/api/docs and /api/openapi.json.",
    )
