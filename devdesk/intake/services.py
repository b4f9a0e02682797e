"""One way in for every channel: the portal, the API, agents logging on behalf of a
customer, and (later) e-mail and docs feedback all call :func:`submit`."""

from __future__ import annotations

import hashlib
import json
from contextlib import nullcontext
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from devdesk.accounts.models import User
from devdesk.intake.models import IdempotencyKey
from devdesk.tickets.errors import TicketError
from devdesk.tickets.models import Ticket
from devdesk.tickets.services import NewTicket, open_ticket
from devdesk.triage.scoring import recompute_score


@dataclass(frozen=True)
class Submitted:
    ticket: Ticket
    created: bool  # False when an idempotent retry returned the earlier ticket


def fingerprint(new: NewTicket) -> str:
    payload = {
        "subject": new.subject,
        "body": new.body,
        "product": new.product.pk if new.product else None,
        "priority": new.priority,
        "severity": new.severity,
        "production_down": new.is_production_down,
        "requester": new.requester.pk,
        "attachments": [u.sha256 for u in new.uploads],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def submit(
    new: NewTicket, *, acting_user: User | None, idempotency_key: str | None = None
) -> Submitted:
    """Open a ticket from any channel, at most once per idempotency key.

    With a key, the same user sending the same request again gets the first ticket
    back (``created=False``); the same key with a different request is refused with
    ``idempotency_conflict`` (HTTP 409), since the client has mixed up two requests.

    Retries are rare, so the key is not looked up first: the ticket and the key's row
    are written in one transaction, and when the key's unique constraint refuses
    (a retry, or a concurrent one that won the race) all of it is undone and the
    earlier ticket is read. With files the key is looked up first after all, since
    a retry would store them again before the constraint refuses.
    """
    if not idempotency_key:
        return Submitted(_open(new, acting_user), created=True)
    key = idempotency_key.strip()
    if not key or len(key) > 255:
        raise TicketError(
            "invalid_idempotency_key", "Idempotency-Key must be 1-255 characters."
        )
    owner = acting_user or new.requester
    digest = fingerprint(new)
    earlier = _earlier(owner, key).first() if new.uploads else None
    if earlier is None:
        try:
            with transaction.atomic():
                ticket = _open(new, acting_user)
                IdempotencyKey.objects.create(
                    user=owner, key=key, request_hash=digest, ticket=ticket
                )
            return Submitted(ticket, created=True)
        except IntegrityError:
            earlier = _earlier(owner, key).first()
            if earlier is None:  # something else refused, not the key
                raise
    if earlier.request_hash != digest:
        raise TicketError(
            "idempotency_conflict",
            "This Idempotency-Key was already used for a different request.",
            status=409,
        )
    return Submitted(earlier.ticket, created=False)


def _open(new: NewTicket, acting_user: User | None) -> Ticket:
    """Open the ticket and give it its priority score, in one transaction: the
    caller's when there is one (no savepoint needed, and a refused ticket must not
    spoil the caller's transaction), else a new one."""
    outer = transaction.get_connection().in_atomic_block
    with nullcontext() if outer else transaction.atomic():
        ticket = open_ticket(new, acting_user=acting_user)
        recompute_score(ticket, reason="created", acting_user=acting_user)
    return ticket


def _earlier(owner: User, key: str) -> QuerySet[IdempotencyKey]:
    return IdempotencyKey.objects.filter(user=owner, key=key).select_related("ticket")
