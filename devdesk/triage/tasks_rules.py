"""Background work of the rules engine. Tasks take IDs and are safe to run twice."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from devdesk.accounts.models import User
from devdesk.triage.models import RuleFiring
from devdesk.triage.rules.engine import run_time_rules


@task()
def run_time_based_rules() -> int:
    """The periodic pass over time-based rules (see ``ops/schedule.py``); idempotent."""
    return run_time_rules()


def notification_recipients(names: list[str]) -> list[str]:
    """E-mail addresses for ``person@…`` and ``team:<slug>`` entries: active
    people only, each once."""
    emails: dict[str, None] = {}
    for name in names:
        if name.startswith("team:"):
            people = User.objects.filter(
                teams__slug=name.removeprefix("team:"), is_active=True
            ).exclude(role=User.Role.CUSTOMER)
        else:
            people = User.objects.filter(email=name, is_active=True).exclude(
                role=User.Role.CUSTOMER
            )
        for email in people.order_by("email").values_list("email", flat=True):
            emails[email] = None
    return list(emails)


@task()
def send_rule_notification(firing_id: int, names: list[str]) -> int:
    """E-mail the people a rule's "notify" action names; returns how many.

    The firing row is claimed first (``notified_at`` set only where empty), so a
    task run twice sends once.
    """
    claimed = RuleFiring.objects.filter(pk=firing_id, notified_at__isnull=True).update(
        notified_at=timezone.now()
    )
    if not claimed:
        return 0
    firing = RuleFiring.objects.select_related("rule", "ticket").get(pk=firing_id)
    ticket = firing.ticket
    recipients = notification_recipients(names)
    if not recipients:
        return 0
    link = settings.SITE_URL + reverse("desk:ticket-detail", args=[ticket.number])
    send_mail(
        subject=f"[{ticket.reference}] Rule “{firing.rule.name}”: {ticket.subject}",
        message=(
            f"The rule “{firing.rule.name}” matched ticket {ticket.reference} "
            f"({ticket.subject}).\n\n{link}\n"
        ),
        from_email=None,
        recipient_list=recipients,
    )
    return len(recipients)
