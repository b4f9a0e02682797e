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
from datetime import timedelta

from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
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
    boxes = active_mailboxes()
    for recipient in recipients:
        found = boxes.get(recipient.strip().strip("<>").lower())
        if found is not None:
            return found
    return default_mailbox()


def default_mailbox() -> Mailbox | None:
    """The active mailbox marked default (Reply-To of tickets from other channels)."""
    return next((box for box in active_mailboxes().values() if box.is_default), None)


# The active mailboxes, in the cache (shared by every process with CACHE_URL) for
# MAILBOX_CACHE_SECONDS or until one is saved: a handful of rows every message
# would otherwise query.
MAILBOX_CACHE_KEY = "intake:active-mailboxes"
MAILBOX_CACHE_SECONDS = 10


def active_mailboxes() -> dict[str, Mailbox]:
    """Every active mailbox by address."""
    boxes: dict[str, Mailbox] | None = cache.get(MAILBOX_CACHE_KEY)
    if boxes is None:
        active = Mailbox.objects.filter(is_active=True).select_related(
            "product", "team"
        )
        boxes = {box.address: box for box in active}
        cache.set(MAILBOX_CACHE_KEY, boxes, MAILBOX_CACHE_SECONDS)
    return boxes


def mailbox_of(inbound: InboundEmail) -> Mailbox | None:
    """The mailbox a stored message arrived at, with its product and team: from the
    cached active ones (:func:`active_mailboxes`), read only when it is inactive."""
    if inbound.mailbox_id is None:
        return None
    for box in active_mailboxes().values():
        if box.pk == inbound.mailbox_id:
            return box
    return Mailbox.objects.select_related("product", "team").get(pk=inbound.mailbox_id)


@receiver([post_save, post_delete], sender=Mailbox)
def _forget_mailboxes(**kwargs: object) -> None:
    cache.delete(MAILBOX_CACHE_KEY)


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


def process_pending(*, limit: int = 500, older_than: timedelta | None = None) -> int:
    """Process what is still ``received`` (a crash or an outage between storing and
    processing), oldest first; ``older_than`` leaves what just arrived to the
    receiver. Returns how many were processed."""
    done = 0
    pending = InboundEmail.objects.filter(outcome=InboundEmail.Outcome.RECEIVED)
    if older_than is not None:
        pending = pending.filter(received_at__lt=timezone.now() - older_than)
    for inbound in pending.order_by("id")[:limit]:
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


# What processing writes on the stored row: never the raw bytes again.
PROCESSED_FIELDS = (
    "outcome",
    "processed_at",
    "attempts",
    "message_id",
    "subject",
    "from_address",
    "kind",
    "reason",
    "ticket",
    "ticket_message",
)


def mark(inbound: InboundEmail, outcome: str, **fields: object) -> InboundEmail:
    """Record what became of a message."""
    inbound.outcome = outcome
    inbound.processed_at = timezone.now()
    for name, value in fields.items():
        setattr(inbound, name, value)
    inbound.save(update_fields=PROCESSED_FIELDS)
    return inbound
