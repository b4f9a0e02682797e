"""Limits on how often one address or one client may try to sign in or ask for mail,
call the API, or submit tickets and replies.

Counts live in Django's cache for a fixed window. With the default per-process
memory cache each web worker counts on its own, so the effective limit is the
limit times the number of workers: still enough to stop password guessing and
mail flooding. A shared cache (``CACHE_URL``) makes it exact.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


@dataclass(frozen=True)
class Limit:
    name: str
    attempts: int
    window_seconds: int

    @property
    def window_minutes(self) -> int:
        return self.window_seconds // 60


SIGN_IN_PER_ADDRESS = Limit("sign-in-address", 10, 15 * 60)
SIGN_IN_PER_CLIENT = Limit("sign-in-client", 50, 15 * 60)
MAIL_PER_ADDRESS = Limit("mail-address", 5, 60 * 60)
MAIL_PER_CLIENT = Limit("mail-client", 20, 60 * 60)


# Limits set in settings are read per request, so a test (or a reload) can change them.
# A limit of 0 attempts is off.
def api_per_token() -> Limit:
    return Limit("api-token", settings.API_RATE_PER_MINUTE, 60)


def api_per_client() -> Limit:
    return Limit("api-client", settings.API_RATE_PER_MINUTE_PER_IP, 60)


def submissions_per_person() -> Limit:
    """New tickets and replies, through the portal and the API together."""
    return Limit("submissions-person", settings.SUBMISSIONS_PER_HOUR, 60 * 60)


def client_address(request: HttpRequest) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is whatever the client wants it to be unless
    # a trusted proxy rewrites it, and then REMOTE_ADDR is the proxy's for everyone.
    return str(request.META.get("REMOTE_ADDR", "unknown"))


def _key(limit: Limit, subject: str) -> str:
    digest = hashlib.sha256(subject.strip().lower().encode()).hexdigest()[:32]
    return f"throttle:{limit.name}:{digest}"


def is_blocked(limit: Limit, subject: str) -> bool:
    """True when ``subject`` used up its attempts in the current window."""
    if limit.attempts <= 0:  # off
        return False
    return int(cache.get(_key(limit, subject), 0)) >= limit.attempts


def count(limit: Limit, subject: str) -> None:
    """Count one attempt; the window starts with the first one."""
    if limit.attempts <= 0:  # off: nothing to count
        return
    key = _key(limit, subject)
    if cache.add(key, 1, timeout=limit.window_seconds):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=limit.window_seconds)


def take(limit: Limit, subject: str) -> bool:
    """Count one attempt unless ``subject`` is blocked; False when it is."""
    if is_blocked(limit, subject):
        return False
    count(limit, subject)
    return True


def reset(limit: Limit, subject: str) -> None:
    cache.delete(_key(limit, subject))
