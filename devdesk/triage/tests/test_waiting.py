"""The tickets whose customer waits for an answer, and the owners' daily e-mail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from devdesk.ops.schedule import SCHEDULE
from devdesk.tickets.models import Message, Ticket
from devdesk.tickets.tests.factories import make_ticket, reply
from devdesk.triage.models import WaitingDigest
from devdesk.triage.tasks import mail_waiting_digests
from devdesk.triage.waiting import send_waiting_digests, waiting_tickets

pytestmark = pytest.mark.django_db


def _wrote(ticket: Ticket, hours_ago: float) -> Ticket:
    Ticket.objects.filter(pk=ticket.pk).update(
        last_customer_message_at=timezone.now() - timedelta(hours=hours_ago)
    )
    Message.objects.filter(ticket=ticket).update(
        created_at=timezone.now() - timedelta(hours=hours_ago)
    )
    return ticket


def test_waiting_lists_customers_past_the_threshold_oldest_first(
    agent, acme_customer, settings
):
    settings.WAITING_CUSTOMER_HOURS = 24
    older = _wrote(make_ticket(acme_customer, subject="older"), 50)
    newer = _wrote(make_ticket(acme_customer, subject="newer"), 30)
    _wrote(make_ticket(acme_customer, subject="recent"), 2)

    found = list(waiting_tickets(agent))

    assert found == [older, newer]


def test_a_public_desk_reply_ends_the_wait_but_a_note_does_not(agent, acme_customer):
    answered = _wrote(make_ticket(acme_customer, subject="answered"), 48)
    noted = _wrote(make_ticket(acme_customer, subject="noted"), 48)
    reply(answered, agent, "Here you go.")
    reply(noted, agent, "internal thoughts", kind=Message.Kind.INTERNAL)

    assert list(waiting_tickets(agent)) == [noted]


def test_solved_tickets_are_not_waiting(agent, acme_customer):
    _wrote(make_ticket(acme_customer, status=Ticket.Status.SOLVED), 48)

    assert not waiting_tickets(agent).exists()


def test_the_time_is_injected(agent, acme_customer):
    ticket = _wrote(make_ticket(acme_customer), 2)
    later = timezone.now() + timedelta(hours=30)

    assert list(waiting_tickets(agent, now=later)) == [ticket]
    assert not waiting_tickets(agent).exists()


def test_customers_see_no_waiting_list_of_other_organizations(
    acme_customer, globex_customer
):
    _wrote(make_ticket(acme_customer), 48)

    assert not waiting_tickets(globex_customer).exists()


def test_each_owner_gets_one_digest_a_day(agent, other_agent, acme_customer):
    mine = _wrote(make_ticket(acme_customer, subject="Mine", owner=agent), 40)
    _wrote(make_ticket(acme_customer, subject="Also mine", assignee=agent), 30)
    _wrote(make_ticket(acme_customer, subject="Sam's", owner=other_agent), 26)
    now = timezone.now()

    first = send_waiting_digests(now=now)
    again = send_waiting_digests(now=now + timedelta(hours=1))

    assert (first.sent, again.sent, again.skipped) == (2, 0, 2)
    assert sorted(m.to[0] for m in mail.outbox) == [agent.email, other_agent.email]
    to_agent = next(m for m in mail.outbox if m.to == [agent.email])
    assert to_agent.subject == "2 customers waiting for an answer"
    assert to_agent.body.index("Mine") < to_agent.body.index("Also mine")
    assert f"#{mine.number}" in to_agent.body
    assert WaitingDigest.objects.count() == 2


def test_the_next_day_brings_a_new_digest(agent, acme_customer):
    _wrote(make_ticket(acme_customer, owner=agent), 40)
    now = timezone.now()

    send_waiting_digests(now=now)
    send_waiting_digests(now=now + timedelta(days=1))

    assert len(mail.outbox) == 2


def test_the_digest_task_is_scheduled_and_runs(agent, acme_customer):
    _wrote(make_ticket(acme_customer, owner=agent), 40)

    mail_waiting_digests.enqueue()

    assert any(p.task is mail_waiting_digests for p in SCHEDULE)
    assert len(mail.outbox) == 1


def test_nobody_is_mailed_when_nobody_waits(agent, acme_customer):
    make_ticket(acme_customer, owner=agent)

    assert send_waiting_digests().sent == 0
    assert mail.outbox == []
