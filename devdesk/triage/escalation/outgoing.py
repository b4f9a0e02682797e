"""Outgoing webhooks: the signed JSON an escalation sends to a tracker endpoint.

Every request carries::

    Content-Type: application/json
    X-Devdesk-Event: ticket.escalated
    X-Devdesk-Delivery: <uuid, the same on every retry of one delivery>
    X-Devdesk-Timestamp: <unix seconds of this attempt>
    X-Devdesk-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed by
                         the endpoint's secret>

A receiver verifies with :func:`verify_signature` (or the same few lines in its own
language): recompute the HMAC over the timestamp header, a dot and the raw body
bytes, compare in constant time, and refuse a timestamp more than a few minutes
from its clock and a delivery id it has already processed.

Deliveries are tried by :func:`attempt_delivery` from a background task, never
inside a database transaction (SQLite would hold its write lock for the length of
an HTTP call). A failed attempt waits ``WEBHOOK_RETRY_SECONDS * 2**(n-1)`` (capped at
an hour) before the next; after ``WEBHOOK_MAX_ATTEMPTS`` the delivery gives up and
the ticket's history says so.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from devdesk.accounts.models import User
from devdesk.tickets.events import record_event
from devdesk.tickets.models import Ticket, TicketEvent
from devdesk.triage.models import EngineeringIssue, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Devdesk-Signature"
TIMESTAMP_HEADER = "X-Devdesk-Timestamp"
DELIVERY_HEADER = "X-Devdesk-Delivery"
EVENT_HEADER = "X-Devdesk-Event"
BACKOFF_MAX = timedelta(hours=1)
# A delivery claimed this long ago by a worker that never reported back (killed
# mid-request) is tried again.
STALE_CLAIM = timedelta(minutes=10)
ERROR_MAX_CHARS = 500


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``b"<timestamp>." + body`` keyed by ``secret``."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(
    endpoint: WebhookEndpoint, delivery: WebhookDelivery, *, timestamp: int
) -> dict[str, str]:
    """The headers of one attempt of ``delivery``."""
    body = delivery.body.encode()
    return {
        "Content-Type": "application/json",
        "User-Agent": f"{settings.SITE_NAME}-webhooks",
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.uid),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"sha256={sign(endpoint.secret, timestamp, body)}",
    }


def verify_signature(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    tolerance_seconds: int = 300,
) -> bool:
    """What a receiver of devdesk's webhooks does: True when the signature matches
    the raw ``body`` and the timestamp is within ``tolerance_seconds`` of ``now``
    (unix seconds). ``headers`` are looked up case-insensitively."""
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ts = lowered.get(TIMESTAMP_HEADER.lower(), "")
    given = lowered.get(SIGNATURE_HEADER.lower(), "")
    if not raw_ts.isdigit() or not given.startswith("sha256="):
        return False
    if abs(now - int(raw_ts)) > tolerance_seconds:
        return False
    expected = sign(secret, int(raw_ts), body)
    return hmac.compare_digest(expected, given.removeprefix("sha256="))


def _person(user: User | None) -> dict[str, str] | None:
    if user is None:
        return None
    return {"name": user.display_name, "email": user.email}


def escalation_payload(
    ticket: Ticket,
    issue: EngineeringIssue,
    *,
    reason: str,
    acting_user: User | None,
    now: datetime,
) -> dict[str, Any]:
    """What an escalation tells a tracker: the ticket in short with a link back,
    why it was escalated, and the engineering issue to create or update."""
    site = settings.SITE_URL
    return {
        "event": "ticket.escalated",
        "created_at": now.isoformat(),
        "ticket": {
            "number": ticket.number,
            "reference": ticket.reference,
            "subject": ticket.subject,
            "status": ticket.status,
            "priority": ticket.get_priority_display(),
            "organization": ticket.organization.name,
            "product": ticket.product.name if ticket.product else None,
            "owner": _person(ticket.owner),
            "url": site + reverse("desk:ticket-detail", args=[ticket.number]),
        },
        "escalation": {
            "reason": reason,
            "by": _person(acting_user),
            "team": issue.team.name if issue.team else None,
        },
        "engineering_issue": {
            "id": issue.pk,
            "reference": issue.reference,
            "tracker": issue.tracker,
            "key": issue.external_key or None,
            "url": issue.url or None,
            "title": issue.title,
            "status": issue.status,
            "linked_tickets": issue.links.count(),
            # Put this line in the tracker issue's description: its webhooks then
            # find the engineering issue before devdesk knows the tracker's key.
            "marker": issue.marker,
            "devdesk_url": site
            + reverse("triage-escalation:issue-detail", args=[issue.pk]),
        },
    }


def queue_delivery(
    endpoint: WebhookEndpoint,
    *,
    event: str,
    payload: dict[str, Any],
    ticket: Ticket | None = None,
    issue: EngineeringIssue | None = None,
    now: datetime | None = None,
) -> WebhookDelivery:
    """Store a delivery and send it from a background task after the commit."""
    from devdesk.triage.escalation.tasks import deliver_webhook

    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=event,
        ticket=ticket,
        issue=issue,
        body=json.dumps(payload, separators=(",", ":"), sort_keys=True),
        next_attempt_at=now or timezone.now(),
        created_at=now or timezone.now(),
    )
    transaction.on_commit(lambda: deliver_webhook.enqueue(delivery.pk))
    return delivery


def backoff(attempt: int) -> timedelta:
    """How long to wait after failed attempt number ``attempt`` (1, 2, …)."""
    delay = timedelta(seconds=settings.WEBHOOK_RETRY_SECONDS * 2 ** (attempt - 1))
    return min(delay, BACKOFF_MAX)


def _claim(delivery_id: int, now: datetime) -> WebhookDelivery | None:
    """Take the delivery for this worker with one conditional UPDATE, so two
    workers (or a task run twice) never send it at the same time."""
    due = Q(
        status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING]
    )
    due &= Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    stale = Q(status=WebhookDelivery.Status.SENDING, claimed_at__lt=now - STALE_CLAIM)
    taken = WebhookDelivery.objects.filter(due | stale, pk=delivery_id).update(
        status=WebhookDelivery.Status.SENDING, claimed_at=now
    )
    if not taken:
        return None
    return WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)


def _post(
    endpoint: WebhookEndpoint, delivery: WebhookDelivery, *, timestamp: int
) -> tuple[int | None, str]:
    """One HTTP POST; the status code (None when there was no answer) and an error."""
    if not endpoint.url.lower().startswith(("http://", "https://")):
        return None, "the endpoint's URL is not http(s)"
    request = urllib.request.Request(  # noqa: S310 - http(s) URLs only (URLField)
        endpoint.url,
        data=delivery.body.encode(),
        headers=signed_headers(endpoint, delivery, timestamp=timestamp),
        method="POST",
    )
    try:
        with urllib.request.urlopen(  # noqa: S310 - see above
            request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS
        ) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code} {exc.reason}"
    except TimeoutError:
        return None, f"no answer within {settings.WEBHOOK_TIMEOUT_SECONDS} s"
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError | socket.timeout):
            return None, f"no answer within {settings.WEBHOOK_TIMEOUT_SECONDS} s"
        return None, f"cannot connect: {reason}"
    except (OSError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"


def attempt_delivery(
    delivery_id: int, *, now: datetime | None = None
) -> WebhookDelivery | None:
    """Try a delivery once if it is due; returns it updated, or None when it was
    not due (delivered already, waiting for its next try, or another worker has it).

    1. Claim it (conditional UPDATE; no transaction is held during the request).
    2. POST the stored body, signed with this attempt's timestamp.
    3. Record the attempt: a 2xx answer delivers it; anything else schedules the
       next try after :func:`backoff`, or gives up after ``WEBHOOK_MAX_ATTEMPTS``.
    """
    now = now or timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    started = time.monotonic()
    if endpoint.is_active:
        status_code, error = _post(endpoint, delivery, timestamp=int(now.timestamp()))
    else:
        status_code, error = None, "the endpoint was deactivated"
    duration_ms = int((time.monotonic() - started) * 1000)
    return record_attempt(
        delivery,
        status_code=status_code,
        error=error,
        now=now,
        duration_ms=duration_ms,
        final=not endpoint.is_active,
    )


def record_attempt(
    delivery: WebhookDelivery,
    *,
    status_code: int | None,
    error: str = "",
    now: datetime,
    duration_ms: int = 0,
    final: bool = False,
) -> WebhookDelivery:
    """Write one attempt and what follows from it; an event on the ticket when the
    delivery succeeds or gives up. ``final``: give up whatever the count."""
    ok = status_code is not None and 200 <= status_code < 300
    if not ok and not error:
        error = f"HTTP {status_code}"
    with transaction.atomic():
        number = delivery.attempts + 1
        gave_up = not ok and (final or number >= settings.WEBHOOK_MAX_ATTEMPTS)
        next_at = None if ok or gave_up else now + backoff(number)
        delivery.attempt_log.create(
            number=number,
            attempted_at=now,
            status_code=status_code,
            error=error[:ERROR_MAX_CHARS],
            duration_ms=duration_ms,
            next_attempt_at=next_at,
        )
        delivery.attempts = number
        delivery.last_status_code = status_code
        delivery.last_error = error[:ERROR_MAX_CHARS]
        delivery.next_attempt_at = next_at
        delivery.claimed_at = None
        if ok:
            delivery.status = WebhookDelivery.Status.SUCCEEDED
            delivery.delivered_at = now
        elif gave_up:
            delivery.status = WebhookDelivery.Status.FAILED
        else:
            delivery.status = WebhookDelivery.Status.RETRYING
        delivery.save(
            update_fields=[
                "attempts",
                "last_status_code",
                "last_error",
                "next_attempt_at",
                "claimed_at",
                "status",
                "delivered_at",
            ]
        )
        if ok or gave_up:
            _note_outcome(delivery, ok=ok)
    return delivery


def _note_outcome(delivery: WebhookDelivery, *, ok: bool) -> None:
    ticket = delivery.ticket
    if ticket is None:
        return
    name = delivery.endpoint.name
    if ok:
        record_event(
            ticket,
            TicketEvent.Kind.WEBHOOK_DELIVERED,
            actor=None,
            delivery=str(delivery.uid),
            endpoint=name,
            attempts=delivery.attempts,
            summary=f"delivered the escalation to {name}",
        )
    else:
        record_event(
            ticket,
            TicketEvent.Kind.WEBHOOK_FAILED,
            actor=None,
            delivery=str(delivery.uid),
            endpoint=name,
            attempts=delivery.attempts,
            error=delivery.last_error,
            summary=f"could not deliver the escalation to {name} after "
            f"{delivery.attempts} attempts: {delivery.last_error}",
        )


def due_deliveries(now: datetime) -> list[int]:
    """Ids of deliveries whose next try is due (or whose worker vanished)."""
    due = Q(
        status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING],
        next_attempt_at__lte=now,
    )
    stale = Q(status=WebhookDelivery.Status.SENDING, claimed_at__lt=now - STALE_CLAIM)
    return list(
        WebhookDelivery.objects.filter(due | stale)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:500]
    )


def retry_delivery_now(
    delivery: WebhookDelivery, *, now: datetime | None = None
) -> None:
    """An admin's "try again": a failed or waiting delivery becomes due at once,
    with one more attempt allowed if it had given up."""
    from devdesk.triage.escalation.tasks import deliver_webhook

    now = now or timezone.now()
    updated = WebhookDelivery.objects.filter(
        pk=delivery.pk,
        status__in=[WebhookDelivery.Status.RETRYING, WebhookDelivery.Status.FAILED],
    ).update(status=WebhookDelivery.Status.RETRYING, next_attempt_at=now)
    if updated:
        transaction.on_commit(lambda: deliver_webhook.enqueue(delivery.pk))
