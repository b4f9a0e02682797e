"""Submissions per hour in the portal: over the limit, a 429 form and nothing written."""

import pytest
from django.urls import reverse

from devdesk.tickets.models import Message, Ticket
from devdesk.tickets.tests.factories import make_ticket

pytestmark = pytest.mark.django_db

NEW = reverse("portal:ticket-new")


def _form(subject="SDK throws 401"):
    return {"subject": subject, "body": "Every call fails.", "product": ""}


def reply_url(ticket):
    return reverse("portal:ticket-reply", args=[ticket.number])


def test_new_ticket_over_the_limit_shows_the_form_with_429(
    login, settings, acme_customer
):
    # given
    settings.SUBMISSIONS_PER_HOUR = 2
    client = login(acme_customer)
    for i in range(2):
        assert client.post(NEW, _form(f"Ticket {i}")).status_code == 302

    # when
    response = client.post(NEW, _form("One too many"))

    # then
    assert response.status_code == 429
    assert response["Retry-After"] == "3600"
    assert "in the last hour" in response.content.decode()
    assert 'name="subject"' in response.content.decode()  # the form, kept filled in
    assert "One too many" in response.content.decode()
    assert Ticket.objects.count() == 2


def test_replies_count_with_new_tickets(login, settings, acme_customer):
    # given
    settings.SUBMISSIONS_PER_HOUR = 2
    ticket = make_ticket(acme_customer)
    before = Message.objects.filter(ticket=ticket).count()
    client = login(acme_customer)
    assert client.post(reply_url(ticket), {"body": "First"}).status_code == 302
    assert client.post(NEW, _form()).status_code == 302

    # when
    response = client.post(reply_url(ticket), {"body": "Third"})

    # then
    assert response.status_code == 429
    assert response["Retry-After"] == "3600"
    assert "in the last hour" in response.content.decode()
    assert Message.objects.filter(ticket=ticket).count() == before + 1


def test_limit_is_per_person(login, settings, acme_customer, acme_colleague):
    settings.SUBMISSIONS_PER_HOUR = 1
    assert login(acme_customer).post(NEW, _form()).status_code == 302
    assert login(acme_colleague).post(NEW, _form()).status_code == 302
    assert Ticket.objects.count() == 2


def test_limit_of_zero_is_off(login, settings, acme_customer):
    settings.SUBMISSIONS_PER_HOUR = 0
    client = login(acme_customer)
    for i in range(5):
        assert client.post(NEW, _form(f"Ticket {i}")).status_code == 302
    assert Ticket.objects.count() == 5
