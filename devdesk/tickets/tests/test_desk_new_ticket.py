"""Opening a ticket on behalf of a customer, through intake."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from devdesk.tickets.models import Attachment, Ticket, TicketEvent
from devdesk.tickets.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

NEW = reverse("desk:ticket-new")


def form(**changes):
    data = {
        "requester": "Carol@Acme.test",
        "channel": "chat",
        "subject": "Cannot install the CLI on ARM",
        "body": "Carol asked at the booth: `pip install` fails on a Raspberry Pi.",
        "priority": "2",
        "token": "f00d",
    }
    data.update(changes)
    return data


def test_agent_opens_ticket_for_customer_with_channel(
    login, agent, acme_customer, acme
):
    cli = ProductFactory(name="CLI", slug="cli")
    response = login(agent).post(NEW, form(channel="event", product=cli.pk))
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:ticket-detail", args=[ticket.number])
    assert (ticket.requester, ticket.organization, ticket.channel, ticket.product) == (
        acme_customer,
        acme,
        Ticket.Channel.EVENT,
        cli,
    )
    assert ticket.messages.get().author == acme_customer
    created = ticket.events.get(kind=TicketEvent.Kind.CREATED)
    assert created.actor == agent


def test_new_ticket_form_offers_the_agent_channels(login, agent):
    html = login(agent).get(NEW).content.decode()
    for value in ("agent", "email", "chat", "event"):
        assert f'value="{value}"' in html
    assert 'value="portal"' not in html


def test_unknown_customer_is_refused(login, agent):
    response = login(agent).post(NEW, form(requester="nobody@acme.test"))
    assert response.status_code == 400
    assert "No customer with the address nobody@acme.test" in response.content.decode()
    assert not Ticket.objects.exists()


def test_staff_address_is_not_a_customer(login, agent, other_agent):
    response = login(agent).post(NEW, form(requester=other_agent.email))
    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_oversized_subject_is_refused(login, agent, acme_customer, settings):
    response = login(agent).post(
        NEW, form(subject="x" * (settings.TICKET_SUBJECT_MAX_CHARS + 1))
    )
    assert response.status_code == 400
    assert "Ensure this value has at most" in response.content.decode()
    assert not Ticket.objects.exists()


def test_empty_body_is_refused(login, agent, acme_customer):
    response = login(agent).post(NEW, form(body="   "))
    assert response.status_code == 400
    assert "the body is empty" in response.content.decode()
    assert not Ticket.objects.exists()


def test_double_submit_opens_one_ticket(login, agent, acme_customer):
    client = login(agent)
    first = client.post(NEW, form())
    second = client.post(NEW, form())
    assert Ticket.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_attachments_are_checked_and_kept(login, agent, acme_customer):
    good = SimpleUploadedFile("pip.log", b"error: no matching distribution\n")
    login(agent).post(NEW, form(attachments=[good]))
    assert Attachment.objects.get().filename == "pip.log"


def test_forged_attachment_opens_nothing(login, agent, acme_customer):
    forged = SimpleUploadedFile("photo.jpg", b"not a jpeg at all")
    response = login(agent).post(NEW, form(attachments=[forged]))
    assert response.status_code == 400
    assert "does not contain what its name says" in response.content.decode()
    assert not Ticket.objects.exists()
