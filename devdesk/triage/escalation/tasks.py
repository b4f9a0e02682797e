"""Background work for escalations. Tasks take ids and are safe to run twice."""

from __future__ import annotations

from django_tasks import task

from devdesk.triage.escalation import outgoing


@task()
def deliver_webhook(delivery_id: int) -> str:
    """Try one outgoing webhook delivery if it is due; returns its status after.
    A run that finds it delivered, waiting or taken by another worker does nothing."""
    delivery = outgoing.attempt_delivery(delivery_id)
    return delivery.status if delivery else "not due"


@task()
def retry_due_webhooks() -> int:
    """Queue every delivery whose next try is due; run every minute by
    ``devdesk scheduler``. Returns how many it queued."""
    from django.utils import timezone

    ids = outgoing.due_deliveries(timezone.now())
    for delivery_id in ids:
        deliver_webhook.enqueue(delivery_id)
    return len(ids)
