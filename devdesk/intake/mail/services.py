"""Mail in: store the raw message first, then process it into the desk.

Every way in (``devdesk mail-receive``, ``devdesk mail-poll``, ``devdesk
mail-import``) calls :func:`receive`. It commits the raw bytes before reading them,
so a message that was acknowledged is never lost: when processing fails half-way
(the database went away), the row stays ``received`` and
:func:`process_pending` tries again later.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

from django.db import DatabaseError, transaction
from django.utils import timezone

from devdesk.intake.models import InboundEmail, Mailbox

logger = logging.getLogger(__name__)


def store(
    raw: bytes,
    *,
    source: str,
    envelope_from: str = "",
    recipients: Sequence[str] = (),
    mailbox: Mailbox | None = None,
) -> InboundEmail:
    """Write the message as it arrived and commit it; nothing is parsed yet.

    Raises :class:`django.db.DatabaseError` when it could not be stored: the caller
    must then refuse the message temporarily (LMTP/SMTP 4xx, IMAP: leave it unseen)
    so that it is delivered again."""
    if mailbox is None:
        mailbox = mailbox_for(recipients)
    with transaction.atomic():
        return InboundEmail.objects.create(
            mailbox=mailbox,
            source=source,
            envelope_from=envelope_from[:998],
            recipients="\n".join(recipients),
            raw=raw,
            size_bytes=len(raw),
            sha256=hashlib.sha256(raw).hexdigest(),
        )


def mailbox_for(recipients: Sequence[str]) -> Mailbox | None:
    """The first active mailbox among the envelope recipients, else the default."""
    addresses = [r.strip().strip("<>").lower() for r in recipients if r.strip()]
    boxes = {
        box.address: box
        for box in Mailbox.objects.filter(address__in=addresses, is_active=True)
    }
    for address in addresses:
        if address in boxes:
            return boxes[address]
    return Mailbox.objects.filter(is_default=True, is_active=True).first()


def receive(
    raw: bytes,
    *,
    source: str,
    envelope_from: str = "",
    recipients: Sequence[str] = (),
    mailbox: Mailbox | None = None,
) -> InboundEmail:
    """Store, then process. Returns the stored row with its outcome.

    Raises only when the message could not be stored (see :func:`store`). A failure
    after that is logged and leaves the row ``received`` for a later try."""
    inbound = store(
        raw,
        source=source,
        envelope_from=envelope_from,
        recipients=recipients,
        mailbox=mailbox,
    )
    try:
        process(inbound)
    except DatabaseError:
        logger.exception("mail %s stored, processing postponed", inbound.pk)
    return inbound


def process(inbound: InboundEmail) -> InboundEmail:
    """Turn a stored message into a ticket or a reply, or suppress or quarantine it.

    Safe to run twice: a message already processed is left as it is."""
    from devdesk.intake.mail.pipeline import run

    if inbound.outcome != InboundEmail.Outcome.RECEIVED:
        return inbound
    return run(inbound)


def process_pending(*, limit: int = 500) -> int:
    """Process what is still ``received`` (a crash or an outage between storing and
    processing). Returns how many were processed."""
    done = 0
    pending = InboundEmail.objects.filter(
        outcome=InboundEmail.Outcome.RECEIVED
    ).order_by("id")[:limit]
    for inbound in pending:
        try:
            process(inbound)
        except DatabaseError:
            logger.exception("mail %s still not processed", inbound.pk)
            break
        done += 1
    return done


def retry(inbound: InboundEmail) -> InboundEmail:
    """An admin's "retry" on a quarantined or refused message: process it again."""
    InboundEmail.objects.filter(pk=inbound.pk).update(
        outcome=InboundEmail.Outcome.RECEIVED, reason="", processed_at=None
    )
    inbound.refresh_from_db()
    return process(inbound)


def mark(inbound: InboundEmail, outcome: str, **fields: object) -> InboundEmail:
    """Record what became of a message."""
    inbound.outcome = outcome
    inbound.processed_at = timezone.now()
    for name, value in fields.items():
        setattr(inbound, name, value)
    inbound.save()
    return inbound
