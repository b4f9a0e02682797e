"""Background work for triage. Tasks are safe to run twice."""

from __future__ import annotations

from django_tasks import task

from devdesk.triage.waiting import send_waiting_digests


@task()
def mail_waiting_digests() -> int:
    """Send today's "customers waiting" e-mail to each owner not mailed yet today;
    returns how many went out. The scheduler queues it hourly; each person gets at
    most one a day (see :func:`send_waiting_digests`)."""
    return send_waiting_digests().sent
