"""Calling the API as each persona: over real HTTP (``http``) or in-process (``api``).

Both take ``as_=`` a user (a fresh token is made for them), ``None`` (no header) or
a raw ``Authorization`` value, and return a response whose ``.json()`` works.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from django.test import Client

from devdesk.accounts.models import User
from devdesk.accounts.services import create_api_token

BAD_TOKEN = "Bearer dd_this-token-was-never-issued"


def _authorization(as_: User | str | None) -> dict[str, str]:
    if as_ is None:
        return {}
    if isinstance(as_, str):
        return {"Authorization": as_}
    _, raw = create_api_token(as_, name="tests")
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture(scope="session")
def _http_client(live_server) -> Iterator[httpx.Client]:  # type: ignore[no-untyped-def]
    # One client for the session: building its TLS context costs more than a request.
    # "Connection: close" ends the server's request thread, and so its database
    # connection, after each answer; a kept-alive one would block dropping the
    # PostgreSQL test database at the end.
    with httpx.Client(
        base_url=live_server.url, timeout=10, headers={"Connection": "close"}
    ) as client:
        yield client


@pytest.fixture
def http(live_server, _http_client: httpx.Client) -> Callable[..., httpx.Response]:  # type: ignore[no-untyped-def]
    """``http(method, path, as_=user, json=..., headers=..., content=...)`` against a
    real server on loopback (``live_server`` also makes the test transactional)."""

    def call(
        method: str,
        path: str,
        *,
        as_: User | str | None,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> httpx.Response:
        headers = {**_authorization(as_), **(headers or {})}
        return _http_client.request(method, path, headers=headers, **kw)

    return call


@pytest.fixture
def api(client: Client) -> Callable[..., Any]:
    """``api(method, path, as_=user, json=..., headers=..., content=...)`` through
    Django's test client: the same URL routing and middleware, no socket."""

    def call(
        method: str,
        path: str,
        *,
        as_: User | str | None,
        json: Any = None,
        content: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        body: Any = (
            content if content is not None else (None if json is None else _dumps(json))
        )
        kwargs: dict[str, Any] = {"headers": {**_authorization(as_), **(headers or {})}}
        if body is not None:
            kwargs.update(data=body, content_type="application/json")
        if params:
            path = f"{path}?{httpx.QueryParams(params)}"
        return getattr(client, method.lower())(path, **kwargs)

    return call


def _dumps(value: Any) -> str:
    return json.dumps(value)
