"""Background work for intake. Tasks are safe to run twice."""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

from devdesk.intake.mail.poller import poll_all
from devdesk.intake.mail.services import process_pending

PENDING_GRACE = timedelta(minutes=1)


@task()
def poll_mailboxes() -> int:
    """Fetch new mail from every active mailbox with an IMAP server; returns how many
    messages were stored.

    Queued by ``devdesk scheduler`` every ``MAIL_POLL_SECONDS``. Two polls of one
    mailbox at once (a slow poll overtaken by the next, or ``devdesk mail-poll``
    running too) may both store a message: the second copy is a duplicate and makes
    no ticket. Errors are saved on each mailbox (``last_poll_error``), not raised.
    """
    return sum(result.stored for result in poll_all())


@task()
def process_pending_mail() -> int:
    """Process mail that was stored but not processed (a receiver that crashed or
    lost its database between the two); returns how many were processed.

    Queued by ``devdesk scheduler`` every minute. Only messages stored more than a
    minute ago are taken, so the receiver's own processing of what just arrived is
    not raced; a message processed twice is one message all the same (its
    Message-ID is unique on the desk)."""
    return process_pending(older_than=PENDING_GRACE)
