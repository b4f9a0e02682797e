"""Fixtures of the escalation tests: a tracker endpoint per kind, a ticket owned by
an agent, signing helpers as each tracker signs, and a loopback HTTP receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from json import dumps
from typing import Any

import pytest

from devdesk.accounts.models import User
from devdesk.tickets.models import Ticket
from devdesk.tickets.tests.factories import make_ticket, reply
from devdesk.triage.models import TrackerKind, WebhookEndpoint

logger = logging.getLogger(__name__)


@pytest.fixture
def owned_ticket(acme_customer: User, agent: User) -> Ticket:
    """An Acme ticket the agent answered and owns."""
    ticket = make_ticket(acme_customer, subject="Capture retried twice")
    reply(ticket, agent, "Looking into it.")
    ticket.owner = agent
    ticket.save(update_fields=["owner"])
    return ticket


def make_endpoint(
    tracker: str, url: str = "http://127.0.0.1:9/hook"
) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        name=f"{tracker} tracker", tracker=tracker, url=url, secret=f"{tracker}-secret"
    )


@pytest.fixture
def github(db: None) -> WebhookEndpoint:
    return make_endpoint(TrackerKind.GITHUB)


@pytest.fixture
def jira(db: None) -> WebhookEndpoint:
    return make_endpoint(TrackerKind.JIRA)


@pytest.fixture
def linear(db: None) -> WebhookEndpoint:
    return make_endpoint(TrackerKind.LINEAR)


def hex_hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body_of(payload: Any) -> bytes:
    return json.dumps(payload).encode()


@dataclass
class Receiver:
    """A webhook receiver on loopback. ``answers`` is consumed one per request:
    an int status, or "hang" to answer nothing until the client gives up."""

    secret: str
    answers: list[int | str]
    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    """``receiver(secret, answers)`` starts one on a free port; it verifies each
    request's signature as a receiver should, with devdesk's documented recipe."""
    servers: list[tuple[ThreadingHTTPServer, Receiver]] = []

    def start(secret: str, answers: list[int | str]) -> Receiver:
        state = Receiver(secret=secret, answers=list(answers))

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                timestamp = self.headers.get("X-Devdesk-Timestamp", "")
                expected = hmac.new(
                    secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
                ).hexdigest()
                given = self.headers.get("X-Devdesk-Signature", "")
                state.received.append(
                    {
                        "headers": dict(self.headers),
                        "body": json.loads(body),
                        "signature_ok": hmac.compare_digest(
                            f"sha256={expected}", given
                        ),
                    }
                )
                answer = state.answers.pop(0) if state.answers else 200
                if answer == "hang":
                    state.release.wait(5)
                    return
                self.send_response(int(answer))
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                # To the test log (shown when a test fails), not to stderr.
                logger.debug("webhook receiver: %s", format % args)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        state.url = f"http://127.0.0.1:{server.server_address[1]}/devdesk"
        servers.append((server, state))
        return state

    yield start
    for server, state in servers:
        state.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def api(client: Any) -> Callable[..., Any]:
    """``api(method, path, as_=user, json=..., content=...)`` through Django's test
    client with a fresh token for ``as_`` (None: no Authorization header)."""
    from devdesk.accounts.services import create_api_token

    def call(
        method: str,
        path: str,
        *,
        as_: User | None,
        json: Any = None,
        content: bytes | None = None,
    ) -> Any:
        headers = {}
        if as_ is not None:
            _, raw = create_api_token(as_, name="tests")
            headers["Authorization"] = f"Bearer {raw}"
        kwargs: dict[str, Any] = {"headers": headers}
        body = (
            content if content is not None else (None if json is None else dumps(json))
        )
        if body is not None:
            kwargs.update(data=body, content_type="application/json")
        return getattr(client, method.lower())(path, **kwargs)

    return call
