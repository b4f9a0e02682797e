"""One way in for every channel: the portal, the API, agents logging on behalf of a
customer, and (later) e-mail and docs feedback all call :func:`submit`."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from devdesk.accounts.models import User
from devdesk.intake.models import IdempotencyKey
from devdesk.tickets.errors import TicketError
from devdesk.tickets.models import Ticket
from devdesk.tickets.services import NewTicket, open_ticket


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
    """
    if not idempotency_key:
        return Submitted(open_ticket(new, acting_user=acting_user), created=True)
    key = idempotency_key.strip()
    if not key or len(key) > 255:
        raise TicketError(
            "invalid_idempotency_key", "Idempotency-Key must be 1-255 characters."
        )
    owner = acting_user or new.requester
    digest = fingerprint(new)
    existing = (
        IdempotencyKey.objects.filter(user=owner, key=key)
        .select_related("ticket")
        .first()
    )
    if existing is None:
        try:
            with transaction.atomic():
                ticket = open_ticket(new, acting_user=acting_user)
                IdempotencyKey.objects.create(
                    user=owner, key=key, request_hash=digest, ticket=ticket
                )
            return Submitted(ticket, created=True)
        except IntegrityError:
            # A concurrent retry with the same key won the race; answer with its ticket.
            existing = IdempotencyKey.objects.select_related("ticket").get(
                user=owner, key=key
            )
    if existing.request_hash != digest:
        raise TicketError(
            "idempotency_conflict",
            "This Idempotency-Key was already used for a different request.",
            status=409,
        )
    return Submitted(existing.ticket, created=False)
