"""Background work for tickets. Tasks take IDs and are safe to run twice."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from devdesk.accounts.models import User
from devdesk.tickets.events import record_event, run_subscribers
from devdesk.tickets.models import Message, TicketEvent

logger = logging.getLogger(__name__)

# The sweep looks back this far and no further, so messages from before notification
# e-mail existed (notified_at empty) are never mailed.
REQUEUE_LOOKBACK = timedelta(days=1)
REQUEUE_BATCH = 500


@task()
def run_event_subscribers(event_id: int) -> bool:
    """The subscribers of an event written where they were not to wait for (see
    :func:`devdesk.tickets.events.subscribers_on_workers`). False when the event is
    gone (its ticket was deleted)."""
    event = TicketEvent.objects.select_related("ticket").filter(pk=event_id).first()
    if event is None:
        return False
    run_subscribers(event)
    return True


@task()
def send_message_notification(message_id: int) -> int:
    """E-mail everyone who should hear about a message; returns how many were sent.

    1. Lock the message row, only while ``notified_at`` is empty; a run that finds it
       locked (another worker has it) or already notified sends nothing.
    2. Send to each recipient, recording each mail's Message-ID for threading.
    3. When any went out, or there was nobody to tell, set ``notified_at``. When
       every send failed (the mail server is down), leave it empty:
       :func:`requeue_unsent_notifications` tries again later, backing off.
    4. Note a failure on the ticket, once per recipient (not once per retry), and
       that the mail went out when a retry succeeds.
    5. Commit all of it together; then raise the first failure, for the log.

    A worker that dies before the commit leaves the message unnotified (the database
    rolls the lock back), so the sweep sends it later: nothing is lost. Mail is sent
    at least once; twice only if the worker dies between handing the mail over and
    the commit. A recipient who fails while another was mailed is not tried again
    (so nobody gets it twice); the note on the ticket says so.

    SQLite has no row locks: there the transaction holds the database's write lock
    while the mail is handed over, so other writers wait that long.
    """
    from devdesk.intake.mail.outbound import send_recorded
    from devdesk.tickets.notifications import build_email, recipients_for

    failures: list[tuple[User, Exception]] = []
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
        sent: list[User] = []
        for person in recipients_for(message):
            email = build_email(message, person)
            try:
                send_recorded(email, ticket=message.ticket, ticket_message=message)
            except Exception as exc:
                failures.append((person, exc))
            else:
                sent.append(person)
        retrying = bool(failures) and not sent
        if not retrying:
            message.notified_at = timezone.now()
            message.save(update_fields=["notified_at"])
        # Only a send with failures, now or in an earlier try (which left its
        # backoff in the cache), has anything to note: the common case reads no
        # events at all.
        if failures or cache.get(_retry_key(message_id)) is not None:
            _note_delivery(message, sent, failures, retrying=retrying)
    if retrying:
        _back_off(message_id)
    if failures:
        raise failures[0][1]
    return len(sent)


def _note_delivery(
    message: Message,
    sent: list[User],
    failures: list[tuple[User, Exception]],
    *,
    retrying: bool,
) -> None:
    """Events on the ticket: who could not be mailed and why, once per recipient
    and message; and who got it after all, when earlier tries had failed."""
    from devdesk.intake.mail.outbound import send_error_text

    noted = {
        event.data.get("recipient")
        for event in message.ticket.events.filter(
            kind=TicketEvent.Kind.NOTIFICATION_FAILED, data__message_id=message.pk
        )
    }
    for person, exc in failures:
        if person.email not in noted:
            record_event(
                message.ticket,
                TicketEvent.Kind.NOTIFICATION_FAILED,
                actor=None,
                message_id=message.pk,
                recipient=person.email,
                reason=send_error_text(exc),
                retrying=retrying,
            )
    if noted and sent:
        record_event(
            message.ticket,
            TicketEvent.Kind.NOTIFICATION_SENT,
            actor=None,
            message_id=message.pk,
            recipients=[person.email for person in sent],
        )


# Retries after a failed send wait twice as long each time (from
# NOTIFICATION_RETRY_SECONDS), up to this. The count lives in the cache: it is not
# worth a column, and a lost count only means retrying sooner (the sweep's
# every-minute pace, the same as for a lost task).
RETRY_BACKOFF_MAX = timedelta(hours=1)


def _retry_key(message_id: int) -> str:
    return f"notification-retry:{message_id}"


def _back_off(message_id: int) -> None:
    attempts, _ = cache.get(_retry_key(message_id), (0, 0.0))
    delay = min(
        settings.NOTIFICATION_RETRY_SECONDS * 2**attempts,
        RETRY_BACKOFF_MAX.total_seconds(),
    )
    retry_at = timezone.now().timestamp() + delay
    cache.set(
        _retry_key(message_id),
        (attempts + 1, retry_at),
        timeout=REQUEUE_LOOKBACK.total_seconds(),
    )


@task()
def requeue_unsent_notifications() -> int:
    """Queue the notification again for every recent message that has none yet.

    Picks messages written between a day and ``NOTIFICATION_RETRY_SECONDS`` ago whose
    ``notified_at`` is still empty: their first task was lost (a worker killed
    mid-task, a queue that lost the job) or failed. One whose send failed waits
    until its backoff is over (see :func:`_back_off`). Run every minute by
    ``devdesk scheduler``; enqueueing twice is harmless, since the task sends once.
    Returns how many it queued.
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
    backoff = cache.get_many([_retry_key(pk) for pk in ids])
    due = [
        pk for pk in ids if backoff.get(_retry_key(pk), (0, 0.0))[1] <= now.timestamp()
    ]
    for message_id in due:
        send_message_notification.enqueue(message_id)
    if due:
        logger.warning("queued %d unsent notifications again", len(due))
    return len(due)


@task()
def prune_ticket_presence() -> int:
    """Delete "who is viewing" rows nobody has refreshed for a day; returns how many."""
    from devdesk.tickets.presence import prune_presence

    return prune_presence(older_than=timedelta(days=1))
