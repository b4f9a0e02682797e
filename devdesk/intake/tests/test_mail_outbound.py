"""Mail out: replies that thread in the customer's mail client, failures shown on
the ticket, and automatic answers that never loop."""

from __future__ import annotations

import email
from datetime import timedelta
from email import policy
from email.message import EmailMessage as ParsedEmail
from email.utils import make_msgid
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.test import override_settings
from django.utils import timezone

from devdesk.intake.mail.outbound import queue_automatic_reply, send_automatic_reply
from devdesk.intake.mail.services import receive
from devdesk.intake.models import AutomaticReply, EmailThreadId, InboundEmail, Mailbox
from devdesk.intake.tests.mail import raw_mail
from devdesk.tickets.history import ticket_history
from devdesk.tickets.models import Message, Ticket, TicketEvent
from devdesk.tickets.tasks import (
    requeue_unsent_notifications,
    send_message_notification,
)
from devdesk.tickets.tests.factories import make_ticket, reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailbox(db) -> Mailbox:  # type: ignore[no-untyped-def]
    return Mailbox.objects.create(
        address="support@skyforge.test", name="Skyforge Support", is_default=True
    )


def deliver(raw: bytes) -> InboundEmail:
    inbound = receive(
        raw, source=InboundEmail.Source.LMTP, recipients=["support@skyforge.test"]
    )
    inbound.refresh_from_db()
    return inbound


def sent(index: int = -1) -> ParsedEmail:
    """A mail from the outbox as the recipient's client parses it."""
    raw = mail.outbox[index].message().as_bytes()
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def notify(message: Message) -> int:
    mail.outbox.clear()
    return send_message_notification.call(message.pk)


def ids(header: str) -> list[str]:
    return [part.strip("<>") for part in header.split()]


# --- replies and notifications ---------------------------------------------------


def test_an_agent_reply_threads_under_the_customers_mail(mailbox, acme_customer, agent):
    # given: a ticket opened by the customer's e-mail
    customer_id = make_msgid(domain="acme.test")
    inbound = deliver(raw_mail(sender=acme_customer.email, message_id=customer_id))
    ticket = inbound.ticket

    # when: an agent replies
    assert notify(reply(ticket, agent, "Rotate the **signing secret**.")) == 1

    # then
    got = sent()
    assert got["To"] == acme_customer.email
    assert got["Subject"] == f"Re: [#{ticket.number}] Webhook retries arrive twice"
    assert got["From"].addresses[0].display_name == "Alex Agent via Skyforge Support"
    assert got["From"].addresses[0].addr_spec == "support@skyforge.test"
    assert got["Reply-To"] == "support@skyforge.test"
    assert got["Message-ID"].endswith("@skyforge.test>")
    assert got["In-Reply-To"] == customer_id
    assert got["References"] == customer_id
    assert (
        "Auto-Submitted" not in got
    )  # a person's reply: their out-of-office may answer


def test_the_mail_has_a_text_and_an_html_part_with_the_portal_link(
    mailbox, acme_customer, agent, settings
):
    settings.SITE_URL = "https://help.skyforge.test"
    ticket = make_ticket(acme_customer)
    notify(reply(ticket, agent, "Rotate the **signing secret**. <script>x</script>"))

    got = sent()
    text = got.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = got.get_body(("html",)).get_content()  # type: ignore[union-attr]
    link = f"https://help.skyforge.test/portal/tickets/{ticket.number}/"
    assert "Rotate the **signing secret**." in text
    assert f"Reply to this e-mail or see the ticket at {link}" in text
    assert "<strong>signing secret</strong>" in html
    assert "<script>" not in html
    assert f'href="{link}"' in html


def test_replies_chain_their_references_and_record_their_message_ids(
    mailbox, acme_customer, agent
):
    customer_id = make_msgid(domain="acme.test")
    ticket = deliver(
        raw_mail(sender=acme_customer.email, message_id=customer_id)
    ).ticket

    first = reply(ticket, agent, "First answer.")
    notify(first)
    first_id = sent()["Message-ID"].strip("<>")
    notify(reply(ticket, agent, "Second answer."))
    second = sent()

    assert second["In-Reply-To"] == f"<{first_id}>"
    assert ids(second["References"]) == [customer_id.strip("<>"), first_id]
    recorded = EmailThreadId.objects.get(message_id=first_id)
    assert (recorded.ticket, recorded.ticket_message, recorded.direction) == (
        ticket,
        first,
        EmailThreadId.Direction.OUTBOUND,
    )


def test_a_customers_reply_to_the_agents_mail_joins_the_ticket(
    mailbox, acme_customer, agent
):
    ticket = make_ticket(acme_customer)
    notify(reply(ticket, agent, "Which version?"))

    answer = deliver(
        raw_mail(
            sender=acme_customer.email,
            subject="Re: something else",
            in_reply_to=sent()["Message-ID"],
        )
    )

    assert answer.ticket == ticket


def test_references_keep_the_first_and_the_last_ten(mailbox, acme_customer, agent):
    ticket = make_ticket(acme_customer)
    known = [f"m{i}@acme.test" for i in range(15)]
    for i, message_id in enumerate(known):
        EmailThreadId.objects.create(
            message_id=message_id,
            ticket=ticket,
            direction=EmailThreadId.Direction.INBOUND,
            created_at=timezone.now() - timedelta(minutes=60 - i),
        )

    notify(reply(ticket, agent, "Answer."))

    assert ids(sent()["References"]) == [known[0], *known[-10:]]
    assert sent()["In-Reply-To"] == f"<{known[-1]}>"


def test_the_first_mail_of_a_portal_ticket_is_not_a_reply(acme_customer, agent):
    ticket = make_ticket(acme_customer, subject="Re: [#77] Login fails")

    notify(reply(ticket, agent, "Answer."))

    assert sent()["Subject"] == f"[#{ticket.number}] Login fails"
    assert "In-Reply-To" not in sent()


@pytest.mark.parametrize("has_default", [True, False], ids=["default", "none"])
def test_without_inbound_mail_replies_go_out_from_the_default_address(
    acme_customer, agent, settings, has_default
):
    settings.DEFAULT_FROM_EMAIL = "Desk <desk@skyforge.test>"
    Mailbox.objects.create(address="sales@skyforge.test")
    if has_default:
        Mailbox.objects.create(
            address="help@skyforge.test", name="Help", is_default=True
        )
    expected = "help@skyforge.test" if has_default else "desk@skyforge.test"

    notify(reply(make_ticket(acme_customer), agent, "Answer."))

    assert sent()["Reply-To"] == expected
    assert sent()["From"].addresses[0].addr_spec == expected


def test_a_ticket_keeps_the_mailbox_its_first_mail_came_to(acme_customer, agent):
    Mailbox.objects.create(address="support@skyforge.test", is_default=True)
    Mailbox.objects.create(address="billing@skyforge.test", name="Billing")
    inbound = receive(
        raw_mail(sender=acme_customer.email, to="billing@skyforge.test"),
        source=InboundEmail.Source.LMTP,
        recipients=["billing@skyforge.test"],
    )

    notify(reply(Ticket.objects.get(pk=inbound.ticket_id), agent, "Answer."))

    assert sent()["Reply-To"] == "billing@skyforge.test"
    assert sent()["From"].addresses[0].display_name == "Alex Agent via Billing"


def test_an_agent_is_told_of_a_customer_reply_with_a_desk_link(
    mailbox, acme_customer, agent
):
    ticket = make_ticket(acme_customer, assignee=agent)

    notify(reply(ticket, acme_customer, "Here are the logs."))

    got = sent()
    text = got.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert got["To"] == agent.email
    assert f"/desk/tickets/{ticket.number}/" in text
    assert "Reply to this e-mail" not in text  # it would be a public reply
    assert got["Auto-Submitted"] == "auto-generated"


# --- failed sends --------------------------------------------------------------------


class FailingBackend(LocmemBackend):
    def send_messages(self, messages: Any) -> int:
        raise ConnectionRefusedError(111, "Connection refused")


FAILING = f"{__name__}.FailingBackend"


def failure_events(ticket: Ticket) -> list[TicketEvent]:
    return list(ticket.events.filter(kind=TicketEvent.Kind.NOTIFICATION_FAILED))


def test_a_failed_send_is_shown_on_the_ticket_once_and_left_for_a_retry(
    mailbox, acme_customer, agent
):
    # given: the mail server refuses connections
    ticket = make_ticket(acme_customer)
    message = reply(ticket, agent, "Answer.")

    # when: the task runs, and runs again
    with override_settings(EMAIL_BACKEND=FAILING):
        for _ in range(2):
            with pytest.raises(ConnectionRefusedError):
                send_message_notification.call(message.pk)

    # then: the message waits for a retry, with one note on the ticket
    message.refresh_from_db()
    assert message.notified_at is None
    [event] = failure_events(ticket)
    assert event.data["recipient"] == acme_customer.email
    lines = [line["text"] for line in ticket_history(ticket)]
    assert (
        f"E-mail to {acme_customer.email} could not be sent: the mail server could "
        "not be reached (Connection refused) (trying again for a day)"
    ) in lines
    assert not any("Traceback" in line for line in lines)
    assert not EmailThreadId.objects.filter(ticket_message=message).exists()


def test_a_retry_that_succeeds_says_so_on_the_ticket(mailbox, acme_customer, agent):
    ticket = make_ticket(acme_customer)
    message = reply(ticket, agent, "Answer.")
    with (
        override_settings(EMAIL_BACKEND=FAILING),
        pytest.raises(ConnectionRefusedError),
    ):
        send_message_notification.call(message.pk)

    assert notify(message) == 1

    message.refresh_from_db()
    assert message.notified_at is not None
    assert EmailThreadId.objects.filter(ticket_message=message).count() == 1
    assert ticket.events.filter(kind=TicketEvent.Kind.NOTIFICATION_SENT).count() == 1
    assert f"E-mail went out after all to {acme_customer.email}" in [
        line["text"] for line in ticket_history(ticket)
    ]


def test_a_failed_send_is_retried_later_and_later(mailbox, acme_customer, agent):
    ticket = make_ticket(acme_customer)
    message = reply(ticket, agent, "Answer.")  # its task never ran (on_commit)
    start = timezone.now()
    with override_settings(EMAIL_BACKEND=FAILING):
        with pytest.raises(ConnectionRefusedError):
            send_message_notification.call(message.pk)  # fails at 0: next at 5 min
        with time_machine.travel(start + timedelta(minutes=4), tick=False):
            assert requeue_unsent_notifications.call() == 0
        with time_machine.travel(start + timedelta(minutes=6), tick=False):
            assert requeue_unsent_notifications.call() == 1  # fails: next at 16
        with time_machine.travel(start + timedelta(minutes=12), tick=False):
            assert requeue_unsent_notifications.call() == 0
    with time_machine.travel(start + timedelta(minutes=17), tick=False):
        assert requeue_unsent_notifications.call() == 1

    message.refresh_from_db()
    assert message.notified_at is not None
    assert len(failure_events(ticket)) == 1


# --- automatic answers ---------------------------------------------------------------


def test_a_new_ticket_by_mail_is_acknowledged(
    mailbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        inbound = deliver(raw_mail(sender="Dana Ito <dana@gmail.com>"))

    got = sent()
    text = got.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    number = inbound.ticket.number
    assert len(mail.outbox) == 1
    assert got["To"] == "dana@gmail.com"
    assert got["Subject"] == f"Re: [#{number}] Webhook retries arrive twice"
    assert f"We got your request [#{number}]" in text
    assert got["Auto-Submitted"] == "auto-replied"
    assert got["X-Auto-Response-Suppress"] == "All"
    assert got["In-Reply-To"] == f"<{inbound.message_id}>"
    assert got["Reply-To"] == "support@skyforge.test"
    assert EmailThreadId.objects.filter(
        ticket=inbound.ticket, direction=EmailThreadId.Direction.OUTBOUND
    ).exists()


def test_acknowledgements_can_be_turned_off(
    mailbox, settings, django_capture_on_commit_callbacks
):
    settings.MAIL_ACKNOWLEDGE = False
    with django_capture_on_commit_callbacks(execute=True):
        deliver(raw_mail(sender="dana@gmail.com"))

    assert mail.outbox == []


def test_a_message_over_the_size_limit_gets_a_polite_answer(
    mailbox, settings, django_capture_on_commit_callbacks
):
    settings.MAIL_MAX_MIB = 0  # every message is over it
    with django_capture_on_commit_callbacks(execute=True):
        deliver(raw_mail(sender="dana@gmail.com", subject="Logs"))

    got = sent()
    text = got.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert len(mail.outbox) == 1
    assert got["Subject"] == "Re: Logs"
    assert "Messages can be at most 0 MiB." in text
    assert got["Auto-Submitted"] == "auto-replied"


def test_dropped_attachments_are_explained_with_the_ticket(
    mailbox, settings, django_capture_on_commit_callbacks
):
    settings.MAIL_MAX_ATTACHMENTS = 1
    settings.MAIL_ACKNOWLEDGE = False
    files = [(f"{i}.txt", "text/plain", b"log") for i in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        inbound = deliver(raw_mail(sender="dana@gmail.com", attachments=files))

    text = sent().get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert len(mail.outbox) == 1
    assert "We kept the first 1 attachments and left out 2." in text
    assert f"ticket #{inbound.ticket.number}" in text


def inbound_from(address: str, kind: str = InboundEmail.Kind.NORMAL) -> InboundEmail:
    return InboundEmail.objects.create(
        source=InboundEmail.Source.LMTP,
        raw=b"",
        sha256="0" * 64,
        message_id=make_msgid(domain="example.org").strip("<>"),
        subject="Hello",
        from_address=address,
        kind=kind,
    )


@pytest.mark.parametrize(
    ("address", "kind", "reason"),
    [
        ("dana@gmail.com", InboundEmail.Kind.AUTO_REPLY, "not written by a person"),
        ("dana@gmail.com", InboundEmail.Kind.BOUNCE, "not written by a person"),
        ("dana@gmail.com", InboundEmail.Kind.BULK, "not written by a person"),
        ("support@skyforge.test", InboundEmail.Kind.NORMAL, "desk's own"),
        ("Desk@Skyforge.test", InboundEmail.Kind.NORMAL, "desk's own"),
        ("no-reply@shop.example", InboundEmail.Kind.NORMAL, "no-reply"),
        ("noreply.billing@shop.example", InboundEmail.Kind.NORMAL, "no-reply"),
        ("MAILER-DAEMON@mx.example", InboundEmail.Kind.NORMAL, "no-reply"),
        ("postmaster@mx.example", InboundEmail.Kind.NORMAL, "no-reply"),
    ],
)
def test_automatic_answers_are_refused(mailbox, settings, address, kind, reason):
    settings.DEFAULT_FROM_EMAIL = "Desk <desk@skyforge.test>"
    inbound = inbound_from(address, kind)

    result = send_automatic_reply.call(inbound.pk, "limit", "Too big.")

    assert reason in result
    assert mail.outbox == []
    assert not AutomaticReply.objects.exists()


def test_an_address_gets_at_most_so_many_automatic_answers_an_hour(mailbox, settings):
    settings.MAIL_AUTO_REPLIES_PER_HOUR = 2
    start = timezone.now()
    results = [
        send_automatic_reply.call(inbound_from("dana@gmail.com").pk, "limit", "x")
        for _ in range(3)
    ]
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        later = send_automatic_reply.call(inbound_from("DANA@gmail.com").pk, "limit")

    assert results[:2] == ["sent", "sent"]
    assert "2 automatic replies to this address in the last hour" in results[2]
    assert later == "sent"
    assert len(mail.outbox) == 3


def test_an_automatic_answer_run_twice_is_sent_once(mailbox):
    inbound = inbound_from("dana@gmail.com")

    first = send_automatic_reply.call(inbound.pk, "limit", "Too big.")
    second = send_automatic_reply.call(inbound.pk, "limit", "Too big.")

    assert (first, second) == ("sent", "already sent")
    assert len(mail.outbox) == 1


def test_queueing_an_unknown_kind_is_a_programming_error(mailbox):
    with pytest.raises(ValueError, match="greeting"):
        queue_automatic_reply(inbound_from("dana@gmail.com"), "greeting")
