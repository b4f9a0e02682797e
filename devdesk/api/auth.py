"""Personal API tokens: ``Authorization: Bearer <token>`` on every request."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer

from devdesk.accounts.models import User
from devdesk.accounts.services import user_for_token


class TokenAuth(HttpBearer):
    """Finds the active user a token belongs to. Any failure is a 401 that says what
    to fix: no header, another scheme, or a token that is unknown or revoked."""

    def __call__(self, request: HttpRequest) -> Any:
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
        return self.authenticate(request, raw.strip())

    def authenticate(self, request: HttpRequest, token: str) -> User:
        user = user_for_token(token)
        if user is None:
            raise AuthenticationError(
                message="This API token is not valid: it is unknown, revoked, or its "
                "user is deactivated. Create a new one on your account page."
            )
        request.user = user  # what Django code further down expects to find
        return user


def api_user(request: HttpRequest) -> User:
    """The user :class:`TokenAuth` signed in for this request."""
    user = getattr(request, "auth", None)
    if not isinstance(user, User):  # only if an operation was declared without auth
        raise AuthenticationError()
    return user
