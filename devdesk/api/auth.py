"""Personal API tokens: ``Authorization: Bearer <token>`` on every request."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer

from devdesk.accounts import throttle
from devdesk.accounts.models import User
from devdesk.accounts.services import user_for_token
from devdesk.api.errors import RateLimited


def check_rate(limit: throttle.Limit, subject: str, what: str) -> None:
    """Count one request against ``limit``; over it, a 429 naming the limit."""
    if not throttle.take(limit, subject):
        raise RateLimited(
            f"Too many requests {what}: at most {limit.attempts} in "
            f"{limit.window_seconds} seconds. Wait and try again.",
            retry_after=limit.window_seconds,
        )


class TokenAuth(HttpBearer):
    """Finds the active user a token belongs to. Any failure is a 401 that says what
    to fix: no header, another scheme, or a token that is unknown or revoked.

    Every API request passes here, so the per-address and per-token rate limits
    are counted here too (429 over them)."""

    def __call__(self, request: HttpRequest) -> Any:
        check_rate(
            throttle.api_per_client(),
            throttle.client_address(request),
            "from this address",
        )
        header = request.headers.get(self.header, "").strip()
        if not header:
            raise AuthenticationError(
                message="Send an API token in the header 'Authorization: Bearer <token>'."
            )
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise AuthenticationError(
                message="The Authorization header must read 'Bearer <token>'."
            )
        user = self.authenticate(request, raw.strip())
        check_rate(throttle.api_per_token(), raw.strip(), "with this API token")
        return user

    def authenticate(self, request: HttpRequest, token: str) -> User:
        user = user_for_token(token)
        if user is None:
            raise AuthenticationError(
                message="This API token is not valid: it is unknown, revoked, or its "
                "user is deactivated. Create a new one on your account page."
            )
        request.user = user  # what Django code further down expects to find
        return user


def check_submission_rate(user: User) -> None:
    """Refuse (429) a new ticket or reply from someone who sent too many this hour;
    :func:`count_submission` counts one that was written."""
    limit = throttle.submissions_per_person()
    if throttle.is_blocked(limit, str(user.pk)):
        raise RateLimited(
            f"You sent {limit.attempts} tickets and replies in the last hour, the "
            "most allowed. Wait and try again.",
            retry_after=limit.window_seconds,
        )


def count_submission(user: User) -> None:
    throttle.count(throttle.submissions_per_person(), str(user.pk))


def api_user(request: HttpRequest) -> User:
    """The user :class:`TokenAuth` signed in for this request."""
    user = getattr(request, "auth", None)
    if not isinstance(user, User):  # only if an operation was declared without auth
        raise AuthenticationError()
    return user
