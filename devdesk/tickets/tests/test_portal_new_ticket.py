"""Opening a ticket from the portal: through intake, with clear 400s for bad input."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from devdesk.tickets.models import Attachment, Message, Ticket, TicketEvent
from devdesk.tickets.tests.factories import ProductFactory, make_ticket

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
NEW = reverse("portal:ticket-new")


def _form(**overrides):
    data = {
        "subject": "SDK throws 401 after an hour",
        "body": "Every call fails with `401` after the token refresh.",
        "product": "",
        "idempotency_key": "",
    }
    data.update(overrides)
    return data


def test_new_ticket_goes_through_intake_with_the_portal_channel(login, acme_customer):
    # given
    sdk = ProductFactory(name="Python SDK", slug="python-sdk")
    shot = SimpleUploadedFile("screenshot.png", PNG, content_type="image/png")
    log = SimpleUploadedFile(
        "trace.log", b"GET /v1/things 401\n", content_type="text/plain"
    )

    # when
    response = login(acme_customer).post(
        NEW, _form(product=sdk.pk, attachments=[shot, log])
    )

    # then
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:ticket-detail", args=[ticket.number])
    assert ticket.channel == Ticket.Channel.PORTAL
    assert ticket.requester == acme_customer
    assert ticket.organization == acme_customer.organization
    assert ticket.product == sdk
    assert ticket.events.filter(
        kind=TicketEvent.Kind.CREATED, data__channel="portal"
    ).exists()
    first = ticket.messages.get()
    assert first.body.startswith("Every call fails")
    assert sorted(first.attachments.values_list("filename", "content_type")) == [
        ("screenshot.png", "image/png"),
        ("trace.log", "text/plain"),
    ]


def test_opening_a_ticket_takes_a_fixed_number_of_queries(
    login, acme_customer, django_assert_num_queries
):
    sdk = ProductFactory(name="Python SDK", slug="python-sdk")
    make_ticket(acme_customer)  # the ticket counter exists from now on
    client = login(acme_customer)

    # session, user, product; then one transaction (a savepoint here, in the tests'
    # own transaction) that takes the number and writes the ticket, its message,
    # both events and the idempotency key; then its priority score (the scoring
    # policy, the organization's plan, the product's median handling time on a cold
    # cache, the score and its event)
    with django_assert_num_queries(15):
        response = client.post(NEW, _form(product=sdk.pk, idempotency_key="k-1"))

    assert response.status_code == 302


def test_new_ticket_form_offers_active_products(login, acme_customer):
    ProductFactory(name="Python SDK", slug="python-sdk")
    ProductFactory(name="Retired CLI", slug="old-cli", is_active=False)
    response = login(acme_customer).get(NEW)
    assert b"Python SDK" in response.content
    assert b"Retired CLI" not in response.content
    assert b"Markdown works" in response.content


def test_sending_the_same_form_twice_opens_one_ticket(login, acme_customer):
    client = login(acme_customer)
    data = _form(idempotency_key="k-123")
    first = client.post(NEW, data)
    second = client.post(NEW, data)
    assert Ticket.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_an_edited_resend_with_the_old_key_opens_a_new_ticket(login, acme_customer):
    client = login(acme_customer)
    client.post(NEW, _form(idempotency_key="k-123"))
    response = client.post(
        NEW, _form(idempotency_key="k-123", subject="Another problem")
    )
    assert response.status_code == 302
    assert Ticket.objects.count() == 2


def test_follow_up_link_prefills_the_form(login, acme_customer):
    earlier = make_ticket(acme_customer, subject="Rate limits on bulk import")
    response = login(acme_customer).get(NEW + f"?follow_up={earlier.number}")
    form = response.context["form"]
    assert form.initial["subject"] == "Follow-up: Rate limits on bulk import"
    assert f"#{earlier.number}" in form.initial["body"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"subject": "   "}, "This field is required."),
        ({"subject": "x" * 201}, "The subject is longer than 200 characters."),
        ({"body": ""}, "This field is required."),
        ({"body": "   \n  "}, "The message is empty."),
        ({"body": "y" * 51}, "The message is longer than 50 characters."),
        ({"product": "999999"}, "Select a valid choice."),
        ({"product": "not-a-number"}, "Select a valid choice."),
    ],
    ids=[
        "blank-subject",
        "long-subject",
        "no-body",
        "blank-body",
        "long-body",
        "unknown-product",
        "garbage-product",
    ],
)
def test_bad_fields_answer_400_and_write_nothing(
    login, acme_customer, settings, overrides, message
):
    settings.MESSAGE_BODY_MAX_CHARS = 50
    response = login(acme_customer).post(NEW, _form(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Ticket.objects.exists()
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "shot.png",
            b"just text pretending to be a picture",
            "shot.png does not contain what its name says",
        ),
        (
            "huge.log",
            b"a" * (1024 * 1024 + 1),
            "huge.log is larger than the 1 MiB limit.",
        ),
        ("setup.exe", b"MZ\x90\x00", "Files like setup.exe are not accepted."),
        ("data.json", b"\x00\x01\x02binary", "data.json should be text but is binary."),
        ("empty.txt", b"", "The submitted file is empty."),
    ],
    ids=["forged-png", "oversized", "not-allowed", "binary-text", "empty"],
)
def test_bad_attachments_answer_400_and_write_nothing(
    login, acme_customer, settings, name, content, message
):
    settings.ATTACHMENT_MAX_MIB = 1
    upload = SimpleUploadedFile(name, content)
    response = login(acme_customer).post(NEW, _form(attachments=[upload]))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Ticket.objects.exists()
    assert not Attachment.objects.exists()


def test_too_many_attachments_are_refused(login, acme_customer, settings):
    settings.ATTACHMENTS_PER_MESSAGE = 2
    files = [SimpleUploadedFile(f"f{i}.txt", b"hello") for i in range(3)]
    response = login(acme_customer).post(NEW, _form(attachments=files))
    assert response.status_code == 400
    assert "At most 2 attachments per message." in response.content.decode()
    assert not Ticket.objects.exists()


def test_the_form_keeps_what_was_typed_after_an_error(login, acme_customer):
    response = login(acme_customer).post(
        NEW, _form(subject="", body="My detailed report")
    )
    assert response.status_code == 400
    assert "My detailed report" in response.content.decode()
