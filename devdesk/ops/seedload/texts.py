"""Ticket texts for the load: real ticket text from a JSONL file, or our own built-in set."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

# Texts


@dataclass(frozen=True)
class SourceText:
    """One real ticket's text: what a customer would have written."""

    key: str
    title: str
    body: str
    project: str


# Our own texts, used when the shared data set is not there (a fresh clone elsewhere).
BUILTIN_TEXTS: tuple[SourceText, ...] = (
    SourceText("API-1", "Webhook deliveries time out after deploy",
               "Since our deploy at 09:00 UTC every webhook delivery to our endpoint "
               "times out after 10 s. The endpoint answers in 200 ms from curl:\n\n"
               "    curl -i https://hooks.example.com/devdesk\n    HTTP/2 200", "API"),
    SourceText("API-2", "401 Unauthorized when refreshing an access token",
               "After exactly one hour every call fails with `401 Unauthorized`. We "
               "call the refresh endpoint with the refresh token we got at sign-in.", "API"),
    SourceText("API-3", "Rate limit headers missing on 429 responses",
               "When we hit the rate limit the response is a 429 without "
               "`Retry-After` or `X-RateLimit-Reset`, so our client cannot back off.", "API"),
    SourceText("API-4", "Pagination cursor returns duplicate items",
               "Walking `/v1/payments?limit=100` with `next_cursor` returns some items "
               "twice when new payments arrive while we page.", "API"),
    SourceText("SDK-1", "Python SDK hangs on connection reset",
               "With sdk 3.2.1 on Python 3.12 the client never returns after the server "
               "resets the connection:\n\n    Traceback (most recent call last):\n"
               "      File \"client.py\", line 88, in request\n    ConnectionResetError: "
               "[Errno 104] Connection reset by peer", "SDK"),
    SourceText("SDK-2", "Node SDK types wrong for optional metadata",
               "The TypeScript definitions mark `metadata` as required on "
               "`createPayment`, but the API accepts requests without it.", "SDK"),
    SourceText("SDK-3", "Go SDK panics with nil pointer on empty response",
               "panic: runtime error: invalid memory address or nil pointer dereference\n"
               "goroutine 1 [running]: client.(*Client).Do(...)", "SDK"),
    SourceText("SDK-4", "Retries send the same idempotency key twice",
               "Our logs show the SDK retrying a POST with a new Idempotency-Key, which "
               "created two charges for one order.", "SDK"),
    SourceText("GW-1", "Self-hosted gateway fails to start after upgrade to 2.4",
               "helm upgrade went fine but the pod crash-loops:\n\n"
               "    Error: migration 0042 failed: relation \"routes\" already exists", "GATEWAY"),
    SourceText("GW-2", "Gateway memory grows until OOM kill",
               "Resident memory grows by about 200 MB an hour under steady load until "
               "the kernel kills the process. Heap profile attached.", "GATEWAY"),
    SourceText("GW-3", "TLS handshake errors with client certificates",
               "Clients presenting certificates signed by our intermediate CA fail with "
               "`tls: unknown certificate authority` although the chain is configured.", "GATEWAY"),
    SourceText("GW-4", "Config reload drops in-flight requests",
               "Sending SIGHUP to reload the config closes open connections instead of "
               "draining them, and our clients see 502s.", "GATEWAY"),
)  # fmt: skip


def load_texts(path: Path) -> list[SourceText]:
    """Read ``{"id", "title", "body", "project"}`` lines; skips lines without a title.

    Raises :class:`FileNotFoundError` when the file is missing.
    """
    texts: list[SourceText] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            row = json.loads(line)
            title = " ".join(str(row.get("title") or "").split())
            if not title:
                continue
            texts.append(
                SourceText(
                    key=str(row.get("id") or ""),
                    title=title,
                    body=str(row.get("body") or ""),
                    project=str(row.get("project") or "GENERAL").upper(),
                )
            )
    return texts


def load_texts_or_builtin(source: Path) -> tuple[list[SourceText], str]:
    """The texts of ``source``, or the built-in ones when it is missing or empty;
    with a line saying which."""
    try:
        texts = load_texts(source)
    except FileNotFoundError:
        return list(BUILTIN_TEXTS), (
            f"{source} not found: using {len(BUILTIN_TEXTS)} built-in texts"
        )
    if not texts:
        return list(BUILTIN_TEXTS), f"{source} is empty: using built-in texts"
    return texts, f"{source} ({len(texts):,} texts)"
