"""The desk's mail pages: the quarantine for admins, the original for agents, and
nothing at all for customers or partners."""

from __future__ import annotations

import pytest
from django.urls import reverse

from devdesk.intake.mail.services import receive
from devdesk.intake.models import InboundEmail
from devdesk.intake.tests.mail import raw_mail

pytestmark = pytest.mark.django_db


@pytest.fixture
def quarantined(db) -> InboundEmail:  # type: ignore[no-untyped-def]
    raw = raw_mail(subject="Lost sender").replace(b"From: ", b"X-From: ")
    return receive(raw, source=InboundEmail.Source.LMTP)


@pytest.fixture
def ticket_mail(db, settings) -> InboundEmail:  # type: ignore[no-untyped-def]
    settings.MAIL_ACKNOWLEDGE = False
    return receive(raw_mail(subject="Webhook retries"), source=InboundEmail.Source.LMTP)


PAGES = ["list", "detail", "raw", "retry"]


def _url(page: str, inbound: InboundEmail) -> str:
    return reverse(f"mail:{page}", args=[] if page == "list" else [inbound.pk])


def _status(client, page: str, inbound: InboundEmail) -> int:  # type: ignore[no-untyped-def]
    method = client.post if page == "retry" else client.get
    return int(method(_url(page, inbound)).status_code)


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("acme_customer", set()),
        ("acme_colleague", set()),
        ("partner_agent", set()),
        ("engineer", set()),
        ("agent", {"detail", "raw"}),
        ("admin_user", {"list", "detail", "raw", "retry"}),
    ],
)
def test_who_may_open_the_mail_behind_a_ticket(
    client, request, ticket_mail, who, allowed
):
    client.force_login(request.getfixturevalue(who))
    for page in PAGES:
        status = _status(client, page, ticket_mail)
        assert (status in {200, 302}) == (page in allowed), (page, status)
        assert status in {200, 302, 404}, (page, status)


@pytest.mark.parametrize("who", ["agent", "engineer", "partner_agent", "acme_customer"])
def test_only_admins_see_mail_that_became_no_ticket(client, request, quarantined, who):
    client.force_login(request.getfixturevalue(who))
    for page in PAGES:
        assert _status(client, page, quarantined) == 404, page


def test_desk_staff_who_see_the_ticket_see_its_mail(
    client, ticket_mail, engineer, engineering
):
    ticket = ticket_mail.ticket
    ticket.escalated_team = engineering
    ticket.save()
    client.force_login(engineer)

    assert _status(client, "detail", ticket_mail) == 200
    assert _status(client, "list", ticket_mail) == 404


def test_the_ticket_page_links_a_customer_e_mail_to_its_original(
    client, agent, ticket_mail
):
    client.force_login(agent)
    page = client.get(
        reverse("desk:ticket-detail", args=[ticket_mail.ticket.number])
    ).content.decode()
    link = reverse("mail:for-message", args=[ticket_mail.ticket_message_id])
    assert link in page

    response = client.get(link)

    assert response.status_code == 302
    assert response["Location"] == reverse("mail:detail", args=[ticket_mail.pk])


def test_anonymous_visitors_are_sent_to_sign_in(client, quarantined):
    for page in PAGES:
        method = client.post if page == "retry" else client.get
        response = method(_url(page, quarantined))
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_the_list_shows_what_needs_attention_first(
    client, admin_user, quarantined, ticket_mail
):
    client.force_login(admin_user)

    attention = client.get(reverse("mail:list")).content.decode()
    everything = client.get(reverse("mail:list") + "?outcome=all").content.decode()

    assert "Lost sender" in attention
    assert "no sender address" in attention
    assert "Webhook retries" not in attention
    assert "Webhook retries" in everything


def test_the_original_is_downloaded_byte_for_byte(client, agent, ticket_mail):
    client.force_login(agent)

    response = client.get(reverse("mail:raw", args=[ticket_mail.pk]))

    assert response["Content-Type"] == "message/rfc822"
    assert response.content == bytes(ticket_mail.raw)


def test_retry_processes_a_quarantined_message_again(
    client, admin_user, quarantined, monkeypatch
):
    client.force_login(admin_user)
    fixed = raw_mail(subject="Lost sender")  # as if the parser had learnt to read it
    InboundEmail.objects.filter(pk=quarantined.pk).update(raw=fixed)

    response = client.post(reverse("mail:retry", args=[quarantined.pk]), follow=True)

    quarantined.refresh_from_db()
    assert quarantined.outcome == InboundEmail.Outcome.TICKET
    assert "Processed again: New ticket." in response.content.decode()


def test_retry_refuses_mail_that_became_a_ticket(client, admin_user, ticket_mail):
    client.force_login(admin_user)

    response = client.post(reverse("mail:retry", args=[ticket_mail.pk]), follow=True)

    assert "Only quarantined" in response.content.decode()
    assert InboundEmail.objects.get(pk=ticket_mail.pk).outcome == "ticket"


def test_the_admin_keeps_an_imap_password_left_empty(client, admin_user):
    from devdesk.intake.models import Mailbox

    box = Mailbox.objects.create(address="help@skyforge.test", imap_password="s3cret")
    client.force_login(admin_user)
    url = reverse("admin:intake_mailbox_change", args=[box.pk])

    page = client.get(url).content.decode()
    response = client.post(
        url,
        {
            "address": "help@skyforge.test",
            "is_active": "on",
            "imap_port": "993",
            "imap_folder": "INBOX",
            "imap_password": "",
        },
    )

    assert "s3cret" not in page
    assert response.status_code == 302
    box.refresh_from_db()
    assert box.imap_password == "s3cret"
