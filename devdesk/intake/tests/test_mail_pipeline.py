"""Mail in: what a stored message becomes, and that nothing is lost on the way."""

from __future__ import annotations

from email.utils import make_msgid

import pytest
from django.db import DatabaseError

from devdesk.accounts.models import User
from devdesk.accounts.tests.factories import OrganizationFactory, UserFactory
from devdesk.intake.mail import services
from devdesk.intake.mail.pipeline import reply_text
from devdesk.intake.mail.services import process_pending, receive, retry
from devdesk.intake.models import BouncedAddress, EmailThreadId, InboundEmail, Mailbox
from devdesk.intake.tests.mail import raw_mail
from devdesk.tickets.models import Attachment, Message, Ticket
from devdesk.tickets.tests.factories import ProductFactory, make_ticket

pytestmark = pytest.mark.django_db
Outcome = InboundEmail.Outcome
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
    b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01"
    b"\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def deliver(raw: bytes, **kwargs) -> InboundEmail:  # type: ignore[no-untyped-def]
    kwargs.setdefault("source", InboundEmail.Source.LMTP)
    kwargs.setdefault("recipients", ["support@skyforge.test"])
    inbound = receive(raw, **kwargs)
    inbound.refresh_from_db()
    return inbound


@pytest.fixture
def mailbox(db) -> Mailbox:  # type: ignore[no-untyped-def]
    return Mailbox.objects.create(
        address="support@skyforge.test",
        name="Skyforge Support",
        is_default=True,
        product=ProductFactory(name="Python SDK", slug="python-sdk"),
    )


# --- new tickets and senders ---------------------------------------------------


def test_a_stranger_gets_a_ticket_a_contact_and_an_organization_of_their_own(mailbox):
    inbound = deliver(raw_mail(sender="Dana Ito <dana@gmail.com>"))

    assert inbound.outcome == Outcome.TICKET
    ticket = inbound.ticket
    assert ticket.channel == Ticket.Channel.EMAIL
    assert ticket.subject == "Webhook retries arrive twice"
    assert ticket.product == mailbox.product
    dana = User.objects.get(email="dana@gmail.com")
    assert (dana.name, dana.role, dana.has_usable_password()) == (
        "Dana Ito",
        User.Role.CUSTOMER,
        False,
    )
    assert ticket.requester == dana
    assert ticket.organization == dana.organization
    assert dana.organization.members.count() == 1  # nobody else's
    assert bytes(inbound.raw).startswith(b"From: Dana Ito")


def test_a_sender_from_an_organizations_domain_joins_it(mailbox, acme):
    inbound = deliver(raw_mail(sender="new.person@acme.test"))

    assert inbound.ticket.organization == acme
    assert User.objects.get(email="new.person@acme.test").organization == acme


def test_a_known_customer_is_matched_by_address_whatever_its_case(
    mailbox, acme_customer
):
    inbound = deliver(raw_mail(sender=acme_customer.email.upper()))

    assert inbound.ticket.requester == acme_customer
    assert User.objects.filter(email__iexact=acme_customer.email).count() == 1


def test_the_mailbox_is_chosen_by_envelope_recipient(mailbox):
    billing = Mailbox.objects.create(address="billing@skyforge.test")

    inbound = deliver(raw_mail(), recipients=["Billing@Skyforge.test"])

    assert inbound.mailbox == billing
    assert inbound.ticket.product is None


# --- threading -----------------------------------------------------------------


def test_a_reply_joins_its_ticket_by_in_reply_to(mailbox, acme_customer):
    first_id = make_msgid(domain="acme.test")
    first = deliver(raw_mail(sender=acme_customer.email, message_id=first_id))

    again = deliver(
        raw_mail(
            sender=acme_customer.email,
            subject="Re: something else entirely",
            body="It happened again.\n\nOn Mon, someone wrote:\n> Our endpoint",
            in_reply_to=first_id,
        )
    )

    assert again.outcome == Outcome.REPLY
    assert again.ticket == first.ticket
    assert again.ticket_message.body == "It happened again."
    assert Ticket.objects.count() == 1


def test_a_colleague_replying_all_stays_on_the_same_ticket(
    mailbox, acme_customer, acme_colleague
):
    first_id = make_msgid(domain="acme.test")
    first = deliver(raw_mail(sender=acme_customer.email, message_id=first_id))

    again = deliver(
        raw_mail(
            sender=acme_colleague.email,
            references=f"<unknown@elsewhere> {first_id}",
        )
    )

    assert again.ticket == first.ticket
    assert again.ticket_message.author == acme_colleague


def test_a_reply_finds_its_ticket_by_the_token_in_the_subject(mailbox, acme_customer):
    ticket = make_ticket(acme_customer)

    inbound = deliver(
        raw_mail(sender=acme_customer.email, subject=f"Re: [#{ticket.number}] hello")
    )

    assert inbound.ticket == ticket
    assert inbound.outcome == Outcome.REPLY


@pytest.mark.parametrize("how", ["token", "in_reply_to"])
def test_another_organizations_ticket_is_never_joined(mailbox, acme_customer, how):
    first_id = make_msgid(domain="acme.test")
    acme_ticket = deliver(
        raw_mail(sender=acme_customer.email, message_id=first_id)
    ).ticket
    headers = (
        {"subject": f"[#{acme_ticket.number}] let me in"}
        if how == "token"
        else {"in_reply_to": first_id}
    )

    inbound = deliver(raw_mail(sender="mallory@globex.test", **headers))

    assert inbound.outcome == Outcome.TICKET
    assert inbound.ticket != acme_ticket
    assert not acme_ticket.messages.filter(author__email="mallory@globex.test").exists()


def test_mail_to_a_closed_ticket_opens_a_follow_up(mailbox, acme_customer):
    closed = make_ticket(acme_customer, status=Ticket.Status.CLOSED)

    inbound = deliver(
        raw_mail(sender=acme_customer.email, subject=f"Re: [#{closed.number}] again")
    )

    assert inbound.outcome == Outcome.TICKET
    assert inbound.ticket != closed
    assert f"Follow-up to #{closed.number}" in inbound.ticket_message.body


def test_the_same_message_id_twice_makes_one_message(mailbox):
    raw = raw_mail()

    first, second = deliver(raw), deliver(raw)

    assert (first.outcome, second.outcome) == (Outcome.TICKET, Outcome.DUPLICATE)
    assert second.ticket == first.ticket
    assert Message.objects.count() == 1
    assert InboundEmail.objects.count() == 2  # both stored, as they arrived


def test_a_message_without_message_id_delivered_twice_is_one_message(mailbox):
    raw = raw_mail().replace(b"Message-ID:", b"X-Old-Message-ID:")

    deliver(raw)
    second = deliver(raw)

    assert second.outcome == Outcome.DUPLICATE
    assert Ticket.objects.count() == 1


# --- content ---------------------------------------------------------------------


def test_html_only_mail_becomes_markdown_without_scripts(mailbox):
    html = (
        "<html><body><h1>Crash</h1><p>The <b>SDK</b> fails:</p>"
        "<script>alert(1)</script><ul><li>on start</li></ul></body></html>"
    )

    inbound = deliver(raw_mail(body="", html=html))

    body = inbound.ticket_message.body
    assert "# Crash" in body
    assert "**SDK**" in body
    assert "- on start" in body
    assert "alert" not in body


def test_encoded_subjects_and_charsets_are_decoded(mailbox):
    raw = (
        b"From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.fr>\r\n"
        b"To: support@skyforge.test\r\n"
        b"Subject: =?UTF-8?B?w4ljaGVjIGR1IGTDqXBsb2llbWVudA==?=\r\n"
        b"Message-ID: <charset-1@example.fr>\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"Le d=E9ploiement a =E9chou=E9.\r\n"
    )

    inbound = deliver(raw)

    assert inbound.ticket.subject == "Échec du déploiement"
    assert inbound.ticket_message.body == "Le déploiement a échoué."
    assert inbound.ticket.requester.name == "André"


def test_an_unknown_charset_and_long_lines_still_make_text(mailbox):
    line = "x" * 5000
    raw = (
        b"From: a@example.org\r\nSubject: odd\r\nMessage-ID: <odd-1@example.org>\r\n"
        b"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\n"
        + line.encode()
        + b"\r\ncaf\xc3\xa9\r\n"
    )

    inbound = deliver(raw)

    assert inbound.outcome == Outcome.TICKET
    assert inbound.ticket_message.body == f"{line}\ncafé"


def test_attachments_and_inline_images_are_kept_and_refused_ones_named(mailbox):
    raw = raw_mail(
        attachments=[
            ("trace.log", "text/plain", b"Traceback: boom"),
            ("screen.png", "image/png", PNG),
            ("setup.exe", "application/octet-stream", b"MZ\x90\x00"),
        ]
    )

    inbound = deliver(raw)

    names = set(
        Attachment.objects.filter(message=inbound.ticket_message).values_list(
            "filename", flat=True
        )
    )
    assert names == {"trace.log", "screen.png"}
    assert "Not attached: setup.exe" in inbound.ticket_message.body


def test_more_attachments_than_allowed_keeps_the_first(mailbox, settings):
    settings.MAIL_MAX_ATTACHMENTS = 2
    raw = raw_mail(
        attachments=[(f"{i}.txt", "text/plain", f"file {i}".encode()) for i in range(4)]
    )

    inbound = deliver(raw)

    assert Attachment.objects.count() == 2
    assert "2 more files" in inbound.ticket_message.body


def test_a_message_over_the_size_limit_is_refused_and_kept(mailbox, settings):
    settings.MAIL_MAX_MIB = 0  # every message is over it

    inbound = deliver(raw_mail())

    assert inbound.outcome == Outcome.REFUSED
    assert "0 MiB" in inbound.reason
    assert Ticket.objects.count() == 0
    assert bytes(inbound.raw)


# --- automatic mail --------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"X-Autoreply": "yes"},
        {"Precedence": "auto_reply"},
        {"X-Auto-Response-Suppress": "All"},
        {"Subject": "Out of Office: back Monday"},
    ],
)
def test_auto_replies_never_open_a_ticket(mailbox, headers):
    subject = headers.pop("Subject", "Re: your request")

    inbound = deliver(raw_mail(subject=subject, headers=headers))

    assert (inbound.kind, inbound.outcome) == (
        InboundEmail.Kind.AUTO_REPLY,
        Outcome.SUPPRESSED,
    )
    assert Ticket.objects.count() == 0


def test_an_auto_reply_to_a_ticket_becomes_a_note_on_it(mailbox, acme_customer):
    first_id = make_msgid(domain="acme.test")
    ticket = deliver(raw_mail(sender=acme_customer.email, message_id=first_id)).ticket

    inbound = deliver(
        raw_mail(
            sender=acme_customer.email,
            subject="Automatic reply: Webhook retries",
            body="I am away until Monday.",
            in_reply_to=first_id,
            headers={"Auto-Submitted": "auto-replied"},
        )
    )

    assert inbound.outcome == Outcome.SUPPRESSED
    note = ticket.messages.get(kind=Message.Kind.INTERNAL)
    assert note.author is None
    assert "I am away until Monday." in note.body
    assert ticket.messages.filter(kind=Message.Kind.PUBLIC).count() == 1


def test_list_mail_opens_a_ticket(mailbox):
    inbound = deliver(raw_mail(headers={"List-Id": "<sdk-users.lists.acme.test>"}))

    assert (inbound.kind, inbound.outcome) == (InboundEmail.Kind.BULK, Outcome.TICKET)


DSN = """\
From: Mail Delivery System <MAILER-DAEMON@mx.skyforge.test>
To: support@skyforge.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce-1@mx.skyforge.test>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.skyforge.test

Final-Recipient: rfc822; gone@acme.test
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <gone@acme.test>: Recipient address rejected

--B
Content-Type: text/rfc822-headers

From: support@skyforge.test
To: gone@acme.test
Subject: [#{number}] Webhook retries
Message-ID: <{sent_id}>

--B--
"""


def test_a_bounce_flags_the_address_and_goes_on_the_ticket_whose_mail_bounced(
    mailbox, acme_customer
):
    ticket = make_ticket(acme_customer)
    sent_id = "reply-1@skyforge.test"
    EmailThreadId.objects.create(
        message_id=sent_id, ticket=ticket, direction=EmailThreadId.Direction.OUTBOUND
    )
    raw = DSN.format(number=ticket.number, sent_id=sent_id).encode()

    inbound = deliver(raw, envelope_from="<>")

    assert (inbound.kind, inbound.outcome) == (
        InboundEmail.Kind.BOUNCE,
        Outcome.SUPPRESSED,
    )
    assert inbound.ticket == ticket
    flagged = BouncedAddress.objects.get()
    assert flagged.address == "gone@acme.test"
    assert "5.1.1" in flagged.last_reason
    note = ticket.messages.get(kind=Message.Kind.INTERNAL)
    assert "gone@acme.test bounced" in note.body
    assert Ticket.objects.count() == 1


def test_a_bounce_for_mail_the_desk_never_sent_opens_nothing(mailbox):
    raw = DSN.format(number=999, sent_id="someone-else@example.org").encode()

    inbound = deliver(raw)

    assert inbound.outcome == Outcome.SUPPRESSED
    assert inbound.ticket is None
    assert Ticket.objects.count() == 0


def test_mail_from_the_desks_own_address_is_not_a_ticket(mailbox):
    inbound = deliver(raw_mail(sender="support@skyforge.test"))

    assert inbound.outcome == Outcome.SUPPRESSED
    assert Ticket.objects.count() == 0


# --- nothing lost --------------------------------------------------------------


def test_unreadable_mail_is_quarantined_with_the_reason_and_can_be_retried(mailbox):
    inbound = deliver(b"\x00\x01 not mail at all")

    assert inbound.outcome == Outcome.QUARANTINED
    assert "no header lines" in inbound.reason
    assert retry(inbound).outcome == Outcome.QUARANTINED
    inbound.refresh_from_db()
    assert inbound.attempts == 2


def test_mail_without_any_sender_is_quarantined(mailbox):
    raw = raw_mail().replace(b"From: ", b"X-Was-From: ")

    inbound = deliver(raw)

    assert inbound.outcome == Outcome.QUARANTINED
    assert "no sender address" in inbound.reason


def test_an_outage_while_processing_keeps_the_message_for_later(mailbox, monkeypatch):
    def outage(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise DatabaseError("server closed the connection unexpectedly")

    monkeypatch.setattr("devdesk.intake.mail.pipeline._person", outage)
    inbound = deliver(raw_mail())
    assert inbound.outcome == Outcome.RECEIVED
    monkeypatch.undo()

    assert process_pending() == 1

    inbound.refresh_from_db()
    assert inbound.outcome == Outcome.TICKET
    assert Ticket.objects.count() == 1


def test_a_store_failure_raises_so_the_sender_retries(mailbox, monkeypatch):
    def outage(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise DatabaseError("could not connect")

    monkeypatch.setattr(InboundEmail.objects, "create", outage)

    with pytest.raises(DatabaseError):
        receive(raw_mail(), source=InboundEmail.Source.LMTP)


def test_processing_twice_changes_nothing(mailbox):
    inbound = deliver(raw_mail())

    services.process(inbound)

    assert Ticket.objects.count() == 1
    assert Message.objects.count() == 1


def test_an_organization_with_a_domain_is_joined_but_a_personal_one_is_not(mailbox):
    OrganizationFactory(name="Gmail users", domains="")
    UserFactory(email="someone@gmail.com")

    inbound = deliver(raw_mail(sender="stranger@gmail.com"))

    assert inbound.ticket.organization.members.count() == 1


def test_signatures_and_quoted_history_are_cut_but_the_original_is_kept(mailbox):
    body = (
        "Setting the timeout fixed it.\n\nCarla\n-- \nCarla Diaz | Acme\n\n"
        "Am Di., 3. März 2026 um 10:00 Uhr schrieb Support <s@skyforge.test>:\n"
        "> Try a longer timeout."
    )

    inbound = deliver(raw_mail(body=body))

    assert inbound.ticket_message.body == "Setting the timeout fixed it.\n\nCarla"
    assert b"Try a longer timeout." in bytes(inbound.raw)


@pytest.mark.parametrize(
    ("answers", "kind"),
    [("reply", Message.Kind.PUBLIC), ("note", Message.Kind.INTERNAL)],
)
def test_an_agent_answering_by_mail_stays_internal_when_the_mail_was_a_note(
    mailbox, acme_customer, agent, answers, kind
):
    ticket = make_ticket(acme_customer)
    earlier = ticket.messages.get()
    if answers == "note":
        earlier.kind = Message.Kind.INTERNAL
        earlier.save()
    EmailThreadId.objects.create(
        message_id="sent-1@skyforge.test",
        ticket=ticket,
        ticket_message=earlier,
        direction=EmailThreadId.Direction.OUTBOUND,
    )

    inbound = deliver(
        raw_mail(sender=agent.email, in_reply_to="<sent-1@skyforge.test>")
    )

    assert inbound.outcome == Outcome.REPLY
    assert inbound.ticket_message.kind == kind
    assert inbound.ticket_message.author == agent


def test_the_scheduled_sweep_leaves_just_arrived_mail_to_the_receiver(mailbox):
    from datetime import timedelta

    from django.utils import timezone

    from devdesk.intake.mail.services import store
    from devdesk.intake.tasks import process_pending_mail

    fresh = store(raw_mail(subject="Just now"), source=InboundEmail.Source.LMTP)
    stale = store(raw_mail(subject="An hour ago"), source=InboundEmail.Source.LMTP)
    InboundEmail.objects.filter(pk=stale.pk).update(
        received_at=timezone.now() - timedelta(hours=1)
    )

    assert process_pending_mail.call() == 1

    assert InboundEmail.objects.get(pk=stale.pk).outcome == Outcome.TICKET
    assert InboundEmail.objects.get(pk=fresh.pk).outcome == Outcome.RECEIVED


@pytest.mark.parametrize(
    ("text", "cut"),
    [
        ("Thanks!\n\nOn Mon, 2 Dec 2026, Ann <ann@x.test> wrote:\n> old", "Thanks!"),
        ("Danke.\n\nAm 2.12.2026 schrieb Ann:\n> alt", "Danke."),
        ("Merci.\n\nLe 2 déc. 2026, Ann a écrit :\n> ancien", "Merci."),
        ("Fixed it.\n\n-----Original Message-----\nFrom: Ann\nold", "Fixed it."),
        ("It works now.\n\n-- \nAnn Example\nACME Corp", "It works now."),
        ("Done.\n\nSent from my phone", "Done."),
    ],
)
def test_quoted_history_and_signatures_are_cut(text, cut):
    assert reply_text(text) == cut


def test_text_without_quotes_or_signature_is_kept_whole():
    text = "Line one: from the logs\n- a list item\n-- not a separator\n" * 50
    assert reply_text(text) == text
