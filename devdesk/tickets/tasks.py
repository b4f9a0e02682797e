"""Background work for tickets. Tasks take IDs and are safe to run twice."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from devdesk.tickets.models import Message

logger = logging.getLogger(__name__)

# The sweep looks back this far and no further, so messages from before notification
# e-mail existed (notified_at empty) are never mailed.
REQUEUE_LOOKBACK = timedelta(days=1)
REQUEUE_BATCH = 500


@task()
def send_message_notification(message_id: int) -> int:
    """E-mail everyone who should hear about a message; returns how many were sent.

    1. Lock the message row, only while ``notified_at`` is empty; a run that finds it
       locked (another worker has it) or already notified sends nothing.
    2. Send, then set ``notified_at`` in the same transaction.

    A worker that dies before the commit leaves the message unnotified (the database
    rolls the lock back), so :func:`requeue_unsent_notifications` sends it later:
    nothing is lost. Mail is sent at least once; twice only if the worker dies
    between handing the mail over and the commit. When a later recipient fails after
    an earlier one was mailed, the message counts as notified (so nobody gets it
    twice) and the error is raised for the log.

    SQLite has no row locks: there the transaction holds the database's write lock
    while the mail is handed over, so other writers wait that long.
    """
    from devdesk.tickets.notifications import build_email, recipients_for

    error: Exception | None = None
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related(
                "author",
                "ticket__requester",
                "ticket__assignee",
                "ticket__owner",
                "origin_ticket",
            )
            .filter(pk=message_id, notified_at__isnull=True)
            .first()
        )
        if message is None:
            return 0
        sent = 0
        try:
            for person in recipients_for(message):
                sent += build_email(message, person).send(fail_silently=False)
        except Exception as exc:
            if not sent:  # nothing went out: roll back, a later run sends it all
                raise
            error = exc
        message.notified_at = timezone.now()
        message.save(update_fields=["notified_at"])
    if error is not None:
        raise error
    return sent


@task()
def requeue_unsent_notifications() -> int:
    """Queue the notification again for every recent message that has none yet.

    Picks messages written between a day and ``NOTIFICATION_RETRY_SECONDS`` ago whose
    ``notified_at`` is still empty: their first task was lost (a worker killed
    mid-task, a queue that lost the job) or failed. Run by ``devdesk scheduler``;
    enqueueing twice is harmless, since the task sends once. Returns how many it queued.
    """
    now = timezone.now()
    retry_before = now - timedelta(seconds=settings.NOTIFICATION_RETRY_SECONDS)
    ids = list(
        Message.objects.filter(
            notified_at__isnull=True,
            created_at__gte=now - REQUEUE_LOOKBACK,
            created_at__lte=retry_before,
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:REQUEUE_BATCH]
    )
    for message_id in ids:
        send_message_notification.enqueue(message_id)
    if ids:
        logger.warning("queued %d unsent notifications again", len(ids))
    return len(ids)


@task()
def prune_ticket_presence() -> int:
    """Delete "who is viewing" rows nobody has refreshed for a day; returns how many."""
    from devdesk.tickets.presence import prune_presence

    return prune_presence(older_than=timedelta(days=1))
