"""A ticket in the portal: the public conversation, replying, and what closes the door."""

import html
import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from devdesk.tickets.merging import merge_tickets
from devdesk.tickets.models import Message, Ticket
from devdesk.tickets.services import change_status
from devdesk.tickets.tests.factories import make_ticket, reply

pytestmark = pytest.mark.django_db


def detail(ticket):
    return reverse("portal:ticket-detail", args=[ticket.number])


def reply_url(ticket):
    return reverse("portal:ticket-reply", args=[ticket.number])


def page(client, ticket) -> str:
    response = client.get(detail(ticket))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (Ticket.Status.NEW, "Received"),
        (Ticket.Status.OPEN, "We're on it"),
        (Ticket.Status.PENDING_ENGINEERING, "With our engineers"),
        (Ticket.Status.PENDING_CUSTOMER, "Waiting for your reply"),
        (Ticket.Status.SOLVED, "Solved"),
        (Ticket.Status.CLOSED, "Closed"),
    ],
)
def test_status_is_shown_in_customer_words(login, acme_customer, status, words):
    ticket = make_ticket(acme_customer, status=status)
    content = page(login(acme_customer), ticket)
    badge = (
        rf'class="badge status-{status}[^"]*">{re.escape(html.escape(words))}</span>'
    )
    assert re.search(badge, content)


def test_customer_reply_is_added_with_its_attachment(
    login, acme_customer, acme_colleague, agent
):
    ticket = make_ticket(acme_customer)
    reply(
        ticket, agent, "Which SDK version?", new_status=Ticket.Status.PENDING_CUSTOMER
    )
    log = SimpleUploadedFile("pip-freeze.txt", b"skyforge-sdk==2.1.0\n")

    response = login(acme_colleague).post(
        reply_url(ticket), {"body": "2.1.0, see file.", "attachments": [log]}
    )

    message = ticket.messages.last()
    assert response.status_code == 302
    assert response["Location"] == f"{detail(ticket)}#message-{message.pk}"
    assert (message.author, message.body, message.channel) == (
        acme_colleague,
        "2.1.0, see file.",
        "portal",
    )
    assert message.attachments.get().filename == "pip-freeze.txt"
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN


def test_reply_to_a_solved_ticket_reopens_it(login, acme_customer, agent):
    ticket = make_ticket(acme_customer)
    reply(ticket, agent, "Rotate the key.", new_status=Ticket.Status.SOLVED)
    client = login(acme_customer)
    assert "Replying opens the ticket again." in page(client, ticket)

    response = client.post(
        reply_url(ticket), {"body": "Still failing after rotating."}, follow=True
    )

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert "The ticket is open again." in response.content.decode()


def test_closed_ticket_has_no_reply_box_but_a_follow_up_link(
    login, acme_customer, agent
):
    ticket = make_ticket(acme_customer, subject="Webhook retries")
    reply(ticket, agent, "Fixed in 2.2.", new_status=Ticket.Status.SOLVED)
    change_status(ticket, Ticket.Status.CLOSED, acting_user=agent)

    content = page(login(acme_customer), ticket)

    assert reply_url(ticket) not in content
    assert f"{reverse('portal:ticket-new')}?follow_up={ticket.number}" in content


def test_reply_to_a_closed_ticket_is_refused_and_writes_nothing(
    login, acme_customer, agent
):
    ticket = make_ticket(acme_customer)
    reply(ticket, agent, "Fixed in 2.2.", new_status=Ticket.Status.SOLVED)
    change_status(ticket, Ticket.Status.CLOSED, acting_user=agent)
    before = ticket.messages.count()

    response = login(acme_customer).post(reply_url(ticket), {"body": "One more thing"})

    assert response.status_code == 400
    assert (
        "This ticket is closed. Open a new ticket to follow up."
        in response.content.decode()
    )
    assert ticket.messages.count() == before


def test_merged_ticket_points_to_the_ticket_it_was_merged_into(
    login, acme_customer, acme_colleague, agent
):
    source = make_ticket(acme_customer, subject="Webhooks twice")
    target = make_ticket(acme_colleague, subject="Duplicate deliveries")
    merge_tickets(source, target, acting_user=agent)

    content = page(login(acme_customer), source)

    assert "This request was merged into" in content
    assert f'href="{detail(target)}"' in content
    assert reply_url(source) not in content


@pytest.mark.parametrize(
    ("body", "attachment", "message"),
    [
        ("", None, "This field is required."),
        ("z" * 51, None, "The message is longer than 50 characters."),
        (
            "see picture",
            ("shot.png", b"plain text"),
            "shot.png does not contain what its name says",
        ),
    ],
    ids=["empty", "too-long", "forged-png"],
)
def test_bad_reply_answers_400_and_writes_nothing(
    login, acme_customer, settings, body, attachment, message
):
    ticket = make_ticket(acme_customer)
    settings.MESSAGE_BODY_MAX_CHARS = 50
    data = {"body": body}
    if attachment:
        data["attachments"] = [SimpleUploadedFile(*attachment)]

    response = login(acme_customer).post(reply_url(ticket), data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert ticket.messages.count() == 1


def test_reply_page_shows_markdown_rendered(login, acme_customer, agent):
    ticket = make_ticket(acme_customer)
    reply(ticket, agent, "Run `pip install -U skyforge` and **restart**.")
    content = page(login(acme_customer), ticket)
    assert "<code>pip install -U skyforge</code>" in content
    assert "<strong>restart</strong>" in content


def test_customer_reply_emails_the_assignee(
    login, acme_customer, agent, django_capture_on_commit_callbacks
):
    ticket = make_ticket(acme_customer, assignee=agent)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        login(acme_customer).post(
            reply_url(ticket), {"body": "Here are the logs you asked for."}
        )

    assert [m.to for m in mail.outbox] == [[agent.email]]
    assert "Here are the logs you asked for." in mail.outbox[0].body
    assert reverse("desk:ticket-detail", args=[ticket.number]) in mail.outbox[0].body


def test_agent_reply_emails_the_customer_with_a_portal_link(
    login, acme_customer, agent, django_capture_on_commit_callbacks
):
    ticket = make_ticket(acme_customer, assignee=agent)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        reply(ticket, agent, "Fixed in 2.2, please upgrade.")

    assert [m.to for m in mail.outbox] == [[acme_customer.email]]
    assert detail(ticket) in mail.outbox[0].body
    assert "Fixed in 2.2, please upgrade." in page(login(acme_customer), ticket)


def test_internal_note_never_reaches_the_customer_page(login, acme_customer, agent):
    ticket = make_ticket(acme_customer)
    reply(ticket, agent, "Customer is on the legacy plan.", kind=Message.Kind.INTERNAL)
    assert "legacy plan" not in page(login(acme_customer), ticket)
