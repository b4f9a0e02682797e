"""The demo desk's e-mail: two support addresses and a morning's mail delivered
through the same path as ``devdesk mail-receive``, so the mail pages show every
outcome: a new ticket with a log attached, the customer's reply threaded onto it,
an out-of-office answer kept as a note, a bounce flagged on the ticket, list mail,
a duplicate delivery and a message in quarantine."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime

from django.utils import timezone

from devdesk.accounts.models import Team
from devdesk.intake.mail.services import receive
from devdesk.intake.models import EmailThreadId, InboundEmail, Mailbox
from devdesk.ops.demo.content import Cast
from devdesk.tickets.models import Message, Product


def mailboxes(cast: Cast) -> list[Mailbox]:
    domain = cast.vendor.domain
    support = Mailbox.objects.create(
        address=f"support@{domain}",
        name="Skyforge Developer Support",
        is_default=True,
        team=Team.objects.filter(slug=cast.support_team).first(),
    )
    sdk = Mailbox.objects.create(
        address=f"sdk@{domain}",
        name="Skyforge SDK Support",
        product=Product.objects.filter(slug="python-sdk").first(),
        team=Team.objects.filter(slug=cast.support_team).first(),
    )
    return [support, sdk]


def _mail(
    sender: str, to: str, subject: str, body: str, mid: str, **headers: str
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = f"<{mid}>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def write_mail(cast: Cast) -> int:
    """Deliver the demo's mail; returns how many messages were stored."""
    support, sdk = mailboxes(cast)
    customer = cast.customers[0]
    carla = f"Carla <carla@{customer.domain}>"
    first = _mail(
        carla,
        sdk.address,
        "Python SDK: ConnectionResetError on long uploads",
        "Hi,\n\nUploading a 40 MB file with client.files.upload() fails after "
        "about 30 seconds with ConnectionResetError. Smaller files work. Log "
        "attached.\n\nCarla",
        f"demo-1@{customer.domain}",
    )
    first.add_attachment(
        b'Traceback (most recent call last):\n  File "upload.py", line 12\n'
        b"ConnectionResetError: [Errno 104] Connection reset by peer\n",
        maintype="text",
        subtype="plain",
        filename="upload.log",
    )
    reply = _mail(
        carla,
        sdk.address,
        "Re: Python SDK: ConnectionResetError on long uploads",
        "Same with version 4.2.1, and it happens behind our proxy only.\n\n"
        "On Mon, Skyforge SDK Support wrote:\n> Which SDK version do you use?",
        f"demo-2@{customer.domain}",
        In_Reply_To=f"<demo-1@{customer.domain}>",
    )
    away = _mail(
        carla,
        sdk.address,
        "Automatic reply: Python SDK: ConnectionResetError on long uploads",
        "I am out of the office until Monday and will read your message then.",
        f"demo-3@{customer.domain}",
        In_Reply_To=f"<demo-1@{customer.domain}>",
        Auto_Submitted="auto-replied",
    )
    listed = _mail(
        f"SDK users <sdk-users@{customer.domain}>",
        support.address,
        "Does the Go SDK support context cancellation on retries?",
        "Asking for our whole team: a cancelled context still retries twice.",
        f"demo-4@lists.{customer.domain}",
        List_Id=f"<sdk-users.lists.{customer.domain}>",
    )
    nobody = b"To: support@" + cast.vendor.domain.encode() + b"\r\n"
    nobody += (
        b"Subject: (sent without a sender)\r\n\r\nA message with no From line.\r\n"
    )
    inbound = [
        receive(first.as_bytes(), source="lmtp", recipients=[sdk.address]),
        receive(reply.as_bytes(), source="lmtp", recipients=[sdk.address]),
        receive(away.as_bytes(), source="imap", recipients=[sdk.address]),
        receive(listed.as_bytes(), source="lmtp", recipients=[support.address]),
        receive(first.as_bytes(), source="imap", recipients=[sdk.address]),
        receive(nobody, source="lmtp", recipients=[support.address]),
    ]
    ticket = inbound[0].ticket
    if ticket is not None:
        # A reply the desk sent to a colleague of Carla's who has left: it bounces.
        sent = f"demo-sent-1@{cast.vendor.domain}"
        EmailThreadId.objects.create(
            message_id=sent, ticket=ticket, direction=EmailThreadId.Direction.OUTBOUND
        )
        inbound.append(
            receive(
                _bounce(cast, f"former@{customer.domain}", sent),
                source="lmtp",
                envelope_from="<>",
                recipients=[support.address],
            )
        )
    # As for the rest of the demo, its "mail" went out in the past.
    tickets = {i.ticket_id for i in inbound if i.ticket_id}
    Message.objects.filter(ticket_id__in=tickets, notified_at__isnull=True).update(
        notified_at=timezone.now()
    )
    return len(inbound)


def _bounce(cast: Cast, recipient: str, sent_id: str) -> bytes:
    domain = cast.vendor.domain
    return (
        f"From: Mail Delivery System <MAILER-DAEMON@mx.{domain}>\r\n"
        f"To: support@{domain}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <demo-bounce-1@mx.{domain}>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n'
        "\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        "Your message could not be delivered to one or more recipients.\r\n"
        "\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.{domain}\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: mailbox unavailable\r\n"
        "\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: support@{domain}\r\nTo: {recipient}\r\nMessage-ID: <{sent_id}>\r\n"
        "\r\n--b--\r\n"
    ).encode()


def remove_mail(cast: Cast) -> None:
    addresses = [f"support@{cast.vendor.domain}", f"sdk@{cast.vendor.domain}"]
    InboundEmail.objects.filter(mailbox__address__in=addresses).delete()
    Mailbox.objects.filter(address__in=addresses).delete()
