"""Background work for tickets. Tasks take IDs and are safe to run twice."""

from __future__ import annotations

from django_tasks import task

from devdesk.tickets.models import Message


@task()
def send_message_notification(message_id: int) -> int:
    """E-mail everyone who should hear about a message; returns how many were sent."""
    from devdesk.tickets.notifications import build_email, recipients_for

    message = (
        Message.objects.select_related(
            "author", "ticket__requester", "ticket__assignee", "ticket__owner", "origin_ticket"
        )
        .filter(pk=message_id)
        .first()
    )
    if message is None:
        return 0
    sent = 0
    for person in recipients_for(message):
        sent += build_email(message, person).send(fail_silently=False)
    return sent
