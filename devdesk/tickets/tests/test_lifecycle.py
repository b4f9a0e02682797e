import threading

import pytest
from django.core import mail
from django.db import connection, transaction
from django_tasks import task_backends

from devdesk.tickets.errors import TicketError
from devdesk.tickets.merging import merge_tickets, split_ticket, undo_merge
from devdesk.tickets.models import Message, Ticket, TicketCounter, TicketEvent
from devdesk.tickets.services import change_status
from devdesk.tickets.tests.factories import make_ticket, reply

pytestmark = pytest.mark.django_db


def test_ticket_numbers_are_sequential_and_start_above_a_thousand(acme_customer):
    first = make_ticket(acme_customer)
    second = make_ticket(acme_customer)
    assert first.number > 1000
    assert second.number == first.number + 1


def test_the_first_ticket_ever_makes_the_counter(acme_customer):
    TicketCounter.objects.all().delete()
    assert make_ticket(acme_customer).number == 1001
    assert TicketCounter.objects.get(name="ticket").value == 1001


def _open_then_fail(requester):
    with transaction.atomic():
        make_ticket(requester, subject="Never kept")
        raise RuntimeError("the request failed after opening")


def test_a_rolled_back_opening_gives_its_number_back(acme_customer):
    first = make_ticket(acme_customer)
    with pytest.raises(RuntimeError):
        _open_then_fail(acme_customer)
    second = make_ticket(acme_customer)
    assert second.number == first.number + 1
    assert Ticket.objects.filter(number=second.number).count() == 1


@pytest.mark.django_db(transaction=True)
def test_tickets_opened_at_once_get_every_number_once(acme_customer):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    start = make_ticket(acme_customer).number

    def open_five() -> None:
        try:
            for _ in range(5):
                make_ticket(acme_customer)
        finally:
            connection.close()

    threads = [threading.Thread(target=open_five) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    numbers = sorted(
        Ticket.objects.exclude(number=start).values_list("number", flat=True)
    )
    assert numbers == list(range(start + 1, start + 21))


def test_opening_a_ticket_queues_no_notification_but_a_reply_does(
    acme_customer, agent, settings, django_capture_on_commit_callbacks
):
    # given: a queue that keeps what is sent to it
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}
    }
    queue = task_backends["default"]
    queue.clear()  # type: ignore[attr-defined]

    # when: a customer opens a ticket (nobody else is on it yet), and the desk answers
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(acme_customer)
    opening = ticket.messages.get()
    with django_capture_on_commit_callbacks(execute=True):
        answer = reply(ticket, agent, "Rotate the key.")

    # then: only the answer has a task; the opening is stored as told, so the
    # sweep for lost notifications leaves it alone too
    assert [r.args for r in queue.results] == [[answer.pk]]  # type: ignore[attr-defined]
    assert opening.notified_at is not None
    assert answer.notified_at is None
    opened = ticket.events.filter(kind=TicketEvent.Kind.MESSAGE_ADDED).first()
    assert opened is not None
    assert opened.data == {
        "message_id": opening.pk,
        "message_kind": "public",
        "attachments": 0,
        "notify": False,
    }


def test_solving_without_public_reply_is_refused(acme_customer, agent):
    ticket = make_ticket(acme_customer)
    reply(ticket, agent, "internal thought", kind=Message.Kind.INTERNAL)
    with pytest.raises(TicketError) as caught:
        change_status(ticket, Ticket.Status.SOLVED, acting_user=agent)
    assert caught.value.code == "reply_required"


def test_customer_reply_reopens_solved_ticket(acme_customer, agent):
    ticket = make_ticket(acme_customer)
    reply(ticket, agent, "Rotate the key.", new_status=Ticket.Status.SOLVED)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.SOLVED
    reply(ticket, acme_customer, "Still failing.")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN


def test_public_reply_emails_the_requester(
    acme_customer, agent, django_capture_on_commit_callbacks
):
    ticket = make_ticket(acme_customer)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        reply(ticket, agent, "Here is the fix.")
    assert [m.to for m in mail.outbox] == [[acme_customer.email]]
    assert f"[#{ticket.number}]" in mail.outbox[0].subject


def test_merge_then_undo_restores_both_conversations(
    acme_customer, acme_colleague, agent
):
    source = make_ticket(acme_customer, subject="Webhook retries")
    target = make_ticket(acme_colleague, subject="Webhooks delivered twice")
    merge_tickets(source, target, acting_user=agent)
    source.refresh_from_db()
    assert source.merged_into == target
    assert (
        target.messages.filter(origin_ticket=source).count() == 2
    )  # original + notice
    assert acme_customer in target.followers.all()
    undo_merge(source, acting_user=agent)
    source.refresh_from_db()
    assert source.merged_into is None
    assert source.status == Ticket.Status.OPEN
    assert not target.messages.filter(origin_ticket=source).exists()
    assert TicketEvent.objects.filter(
        ticket=target, kind=TicketEvent.Kind.SPLIT_TO
    ).exists()


def test_merge_across_organizations_is_refused(acme_customer, globex_customer, agent):
    with pytest.raises(TicketError) as caught:
        merge_tickets(
            make_ticket(acme_customer), make_ticket(globex_customer), acting_user=agent
        )
    assert caught.value.code == "cross_organization"


def test_split_moves_chosen_messages_and_merge_undoes_it(acme_customer, agent):
    ticket = make_ticket(acme_customer)
    second = reply(ticket, acme_customer, "Also: the CLI crashes on Windows.")
    new = split_ticket(ticket, message_ids=[second.pk], acting_user=agent)
    assert list(new.messages.all()) == [second]
    assert new.split_from == ticket
    merge_tickets(new, ticket, acting_user=agent, notify_source=False)
    assert ticket.messages.filter(pk=second.pk).exists()


def test_notification_task_run_twice_mails_once(acme_customer, agent):
    from devdesk.tickets.tasks import send_message_notification

    ticket = make_ticket(acme_customer)
    message = reply(
        ticket, agent, "Here is the fix."
    )  # on_commit not run: nothing sent yet
    mail.outbox.clear()
    assert send_message_notification.call(message.pk) == 1
    assert send_message_notification.call(message.pk) == 0
    assert len(mail.outbox) == 1


def test_pages_show_times_in_the_users_time_zone(login, acme_customer):
    from django.utils import timezone

    acme_customer.time_zone = "Asia/Tokyo"
    acme_customer.save()
    login(acme_customer).get("/portal/")
    assert timezone.get_current_timezone_name() == "Asia/Tokyo"
    acme_customer.time_zone = "Not/AZone"
    acme_customer.save()
    login(acme_customer).get("/portal/")
    assert timezone.get_current_timezone_name() == "UTC"
