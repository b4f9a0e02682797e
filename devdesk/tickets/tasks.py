"""Background work for tickets. Tasks take IDs and are safe to run twice."""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from devdesk.tickets.models import Message


@task()
def send_message_notification(message_id: int) -> int:
    """E-mail everyone who should hear about a message; returns how many were sent.

    The message is claimed with a conditional update first, so when the task runs
    twice (a retry, two workers) the second run sends nothing.
    """
    from devdesk.tickets.notifications import build_email, recipients_for

    claimed = Message.objects.filter(pk=message_id, notified_at__isnull=True).update(
        notified_at=timezone.now()
    )
    if not claimed:
        return 0

    message = (
        Message.objects.select_related(
            "author",
            "ticket__requester",
            "ticket__assignee",
            "ticket__owner",
            "origin_ticket",
        )
        .filter(pk=message_id)
        .first()
    )
    if message is None:
        return 0
    sent = 0
    try:
        for person in recipients_for(message):
            sent += build_email(message, person).send(fail_silently=False)
    except Exception:
        if not sent:  # nothing went out: release the claim so a retry can send
            Message.objects.filter(pk=message_id).update(notified_at=None)
        raise
    return sent
