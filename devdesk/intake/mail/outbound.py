"""Mail out: the e-mail the desk sends about a ticket message, and its automatic
answers to inbound mail (a new ticket acknowledged, a message over a limit).

Threading. Every mail gets a Message-ID of its own on the sending address's domain,
recorded in :class:`EmailThreadId` (direction out) in the transaction that sends it,
so a reply naming it in In-Reply-To or References joins its ticket. In-Reply-To and
References name the ticket's earlier Message-IDs, in and out, oldest first, which
is what Gmail, Outlook and Apple Mail thread on; the ``[#1234]`` token in the
subject finds the ticket when a client drops those headers.

Addresses. Mail goes out From "Name via <mailbox name>" at the ticket's mailbox
(the one its first e-mail arrived at, else the default one, else
``DEFAULT_FROM_EMAIL``), with Reply-To that same address.

Bounced addresses (:class:`BouncedAddress`) are still mailed: a bounce may be
temporary or fixed since, and the bounce is already a note on the ticket.
"""

from __future__ import annotations

import logging
import re
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, make_msgid
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, linebreaks, urlize
from django_tasks import task

from devdesk.accounts.models import User
from devdesk.intake.mail.services import active_mailboxes, default_mailbox
from devdesk.intake.mail.tokens import TOKEN_RE, ticket_token
from devdesk.intake.models import AutomaticReply, EmailThreadId, InboundEmail, Mailbox
from devdesk.lib.markdown import render_markdown
from devdesk.lib.tasks import enqueue_with_transaction
from devdesk.tickets.models import Message, Ticket

logger = logging.getLogger(__name__)

# References could grow with every mail of a long ticket; clients thread on the
# first (the thread's root) and the most recent, so those are kept.
REFERENCES_KEPT = 10
# "Re: Re: AW: [#12] subject" → "subject", before our own "Re: [#13] " goes on.
SUBJECT_PREFIX_RE = re.compile(r"^(\s*(re|aw|sv|fwd?|wg)\s*:)+\s*", re.IGNORECASE)
# Senders that are never answered automatically: nobody reads their mail.
NO_REPLY_RE = re.compile(
    r"(^|[-_.+])(no-?_?reply|do-?_?not-?_?reply|mailer-?daemon|postmaster|bounces?)"
    r"([-_.+]|$)",
    re.IGNORECASE,
)
# RFC 3834 Auto-Submitted is the standard; Microsoft's responders (Exchange,
# Outlook) look at X-Auto-Response-Suppress, and older vacation programs at
# Precedence ("bulk" would stop them too, but spam filters read it as bulk mail).
AUTOMATIC_REPLY_HEADERS = {
    "Auto-Submitted": "auto-replied",
    "X-Auto-Response-Suppress": "All",
    "Precedence": "auto_reply",
}
AUTOMATIC_SIGNATURE = "This is an automatic reply."


@dataclass(frozen=True)
class Sender:
    """Where a ticket's mail comes from and replies go to."""

    address: str
    name: str  # the desk's name for this address


def default_address() -> str:
    """``DEFAULT_FROM_EMAIL`` without a display name, if it has one."""
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or settings.DEFAULT_FROM_EMAIL


def ticket_mailbox(ticket: Ticket | None) -> Mailbox | None:
    """The mailbox the ticket's first e-mail arrived at, else the default one."""
    first = (
        InboundEmail.objects.filter(ticket=ticket, mailbox__is_active=True)
        .select_related("mailbox")
        .order_by("id")
        .first()
        if ticket is not None
        else None
    )
    if first is not None:
        return first.mailbox
    return default_mailbox()


def sender_of(mailbox: Mailbox | None) -> Sender:
    if mailbox is None:
        return Sender(address=default_address(), name=settings.SITE_NAME)
    return Sender(address=mailbox.address, name=mailbox.name or settings.SITE_NAME)


def is_desk_address(address: str) -> bool:
    """Whether ``address`` is one of the desk's own (an active mailbox, or the
    default sender)."""
    address = address.strip().lower()
    return address == default_address().lower() or address in active_mailboxes()


def subject_for(subject: str, number: int | None, *, reply: bool) -> str:
    """``Re: [#1234] Subject``: earlier reply prefixes and tokens taken out."""
    subject = SUBJECT_PREFIX_RE.sub("", TOKEN_RE.sub("", subject)).strip()
    if number is not None:
        subject = f"{ticket_token(number)} {subject}".strip()
    return f"Re: {subject}" if reply else subject


def threading_headers(message_ids: list[str]) -> dict[str, str]:
    """In-Reply-To the last of ``message_ids`` (oldest first), References the first
    and the last ``REFERENCES_KEPT``."""
    if not message_ids:
        return {}
    kept = message_ids
    if len(kept) > REFERENCES_KEPT + 1:
        kept = [kept[0], *kept[-REFERENCES_KEPT:]]
    return {
        "In-Reply-To": f"<{message_ids[-1]}>",
        "References": " ".join(f"<{mid}>" for mid in kept),
    }


def _thread_ids(message: Message, *, for_customer: bool) -> list[str]:
    """The ticket's known Message-IDs before ``message``, oldest first; those of
    mail about internal notes only for the desk's people."""
    rows = EmailThreadId.objects.filter(ticket=message.ticket).exclude(
        ticket_message=message
    )
    if for_customer:
        rows = rows.exclude(ticket_message__kind=Message.Kind.INTERNAL)
    return list(rows.order_by("created_at", "id").values_list("message_id", flat=True))


def compose(
    *,
    to: str,
    sender: Sender,
    from_name: str,
    subject: str,
    text: str,
    html: str,
    headers: dict[str, str],
) -> EmailMultiAlternatives:
    """A text and HTML mail with a fresh Message-ID on the sender's domain."""
    domain = sender.address.rpartition("@")[2] or None
    email = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=formataddr((from_name, sender.address)),
        to=[to],
        reply_to=[sender.address],
        headers={"Message-ID": make_msgid(domain=domain), **headers},
    )
    email.attach_alternative(
        f'<!DOCTYPE html>\n<html><body style="font-family:sans-serif">\n{html}\n'
        "</body></html>\n",
        "text/html",
    )
    return email


def send_recorded(
    email: EmailMultiAlternatives,
    *,
    ticket: Ticket | None,
    ticket_message: Message | None = None,
) -> int:
    """Hand ``email`` to the mail backend, then record its Message-ID for the ticket
    (in the caller's transaction), so replies to it find the ticket. Raises what
    the backend raises."""
    sent = email.send(fail_silently=False)
    if sent and ticket is not None:
        EmailThreadId.objects.create(
            message_id=email.extra_headers["Message-ID"].strip("<>"),
            ticket=ticket,
            ticket_message=ticket_message,
            direction=EmailThreadId.Direction.OUTBOUND,
        )
    return sent


def send_error_text(exc: BaseException) -> str:
    """Why a send failed, in a line an agent can read (no stack trace)."""
    text: str
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = [f"{code} {_text(reply)}" for code, reply in exc.recipients.values()]
        text = f"the mail server refused the address ({'; '.join(answers)})"
    elif isinstance(exc, smtplib.SMTPResponseException):
        text = f"the mail server answered {exc.smtp_code} {_text(exc.smtp_error)}"
    elif isinstance(exc, OSError):
        text = f"the mail server could not be reached ({exc.strerror or exc})"
    else:
        text = str(exc) or type(exc).__name__
    return text[:500]


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


# --- mail about a ticket message ---------------------------------------------------


def message_email(message: Message, recipient: User) -> EmailMultiAlternatives:
    """The mail telling ``recipient`` about ``message``; not sent, not recorded.

    A customer reads the reply and is invited to answer by e-mail; the desk's
    people get the ticket and who wrote, and a link to the desk (not an invitation
    to answer by mail: that would be a public reply, also to an internal note)."""
    ticket = message.ticket
    sender = sender_of(ticket_mailbox(ticket))
    author = message.author.display_name if message.author else sender.name
    ids = _thread_ids(message, for_customer=recipient.is_customer)
    if recipient.is_customer:
        link = settings.SITE_URL + reverse("portal:ticket-detail", args=[ticket.number])
        intro = ""
        footer = "Reply to this e-mail or see the ticket at"
    else:
        link = settings.SITE_URL + reverse("desk:ticket-detail", args=[ticket.number])
        label = "Internal note" if message.is_internal else "New reply"
        intro = f"{label} from {author} on {ticket.reference}: {ticket.subject}"
        footer = "See the ticket at"
    files = [a.filename for a in message.attachments.all()]
    attached = f"Attached on the ticket: {', '.join(files)}" if files else ""
    text = "\n\n".join(
        part
        for part in (intro, message.body, attached, f"-- \n{footer} {link}")
        if part
    )
    html = "\n".join(
        part
        for part in (
            f'<p style="color:#555">{escape(intro)}</p>' if intro else "",
            render_markdown(message.body),
            f"<p>{escape(attached)}</p>" if attached else "",
            f'<hr>\n<p style="color:#555">{escape(footer)} '
            f'<a href="{escape(link)}">{escape(link)}</a></p>',
        )
        if part
    )
    headers = {"X-Devdesk-Ticket": str(ticket.number), **threading_headers(ids)}
    if not recipient.is_customer:
        # The desk's own people: their out-of-office should not answer each mail.
        headers |= {
            "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "All",
        }
    return compose(
        to=recipient.email,
        sender=sender,
        from_name=f"{author} via {sender.name}" if message.author else sender.name,
        subject=subject_for(ticket.subject, ticket.number, reply=bool(ids)),
        text=text,
        html=html,
        headers=headers,
    )


# --- automatic answers to inbound mail -------------------------------------------


def queue_automatic_reply(inbound: InboundEmail, kind: str, detail: str = "") -> None:
    """Queue an automatic answer to ``inbound`` with the transaction (see
    :func:`~devdesk.lib.tasks.enqueue_with_transaction`):
    ``"acknowledgement"`` for a new ticket opened by mail (off with
    ``MAIL_ACKNOWLEDGE=False``), ``"limit"`` for a message over a limit, with
    ``detail`` saying what was left out. :func:`send_automatic_reply` decides
    whether it may go out. Raises ``ValueError`` for an unknown kind."""
    checked = AutomaticReply.Kind(kind).value
    if checked == AutomaticReply.Kind.ACKNOWLEDGEMENT and not settings.MAIL_ACKNOWLEDGE:
        return
    inbound_id = inbound.pk
    enqueue_with_transaction(
        lambda: send_automatic_reply.enqueue(inbound_id, checked, detail)
    )


def automatic_reply_refusal(inbound: InboundEmail, kind: str) -> str:
    """Why ``inbound`` may get no automatic answer of ``kind``, or ``""`` when it may.

    Never to an auto-reply, a bounce or list mail (two auto-responders would
    loop), no acknowledgement on a ticket in cool-down, never to the desk itself, to an address nobody reads, or to an address
    answered ``MAIL_AUTO_REPLIES_PER_HOUR`` times in the last hour."""
    address = inbound.from_address.strip().lower()
    if kind not in AutomaticReply.Kind.values:
        return f"no such automatic reply: {kind!r}"
    if kind == AutomaticReply.Kind.ACKNOWLEDGEMENT and inbound.ticket_id is None:
        return "no ticket to acknowledge"
    # Cool-down (triage): an upset sender gets a person's answer, not a robot's.
    # Notices that part of a message was not kept still go: nothing is lost silently.
    ticket = inbound.ticket
    if (
        kind == AutomaticReply.Kind.ACKNOWLEDGEMENT
        and ticket is not None
        and ticket.is_cooling_down()
    ):
        return f"the ticket is in cool-down ({ticket.cooldown_reason})"
    if inbound.kind != InboundEmail.Kind.NORMAL:
        return f"not written by a person ({inbound.kind or 'unclassified'})"
    if not address:
        return "no sender address"
    if is_desk_address(address):
        return "sent by the desk's own address"
    if NO_REPLY_RE.search(address.partition("@")[0]):
        return "a no-reply address"
    recent = AutomaticReply.objects.filter(
        address=address, sent_at__gte=timezone.now() - timedelta(hours=1)
    ).count()
    if recent >= settings.MAIL_AUTO_REPLIES_PER_HOUR:
        return f"{recent} automatic replies to this address in the last hour"
    return ""


@task()
def send_automatic_reply(inbound_id: int, kind: str, detail: str = "") -> str:
    """Send one automatic answer to an inbound message, unless refused (see
    :func:`automatic_reply_refusal`). Returns ``"sent"`` or why not.

    Safe to run twice: a row per message and kind is written in the transaction
    that sends, so a second run finds it and sends nothing. A send that fails
    rolls the row back and raises; it is not retried (a courtesy, not a reply)."""
    with transaction.atomic():
        inbound = (
            InboundEmail.objects.select_related("mailbox", "ticket", "ticket_message")
            .filter(pk=inbound_id)
            .first()
        )
        if inbound is None:
            return "the message is gone"
        refusal = automatic_reply_refusal(inbound, kind)
        if refusal:
            logger.info("no automatic %s for mail %s: %s", kind, inbound_id, refusal)
            return refusal
        try:
            with transaction.atomic():
                AutomaticReply.objects.create(
                    address=inbound.from_address.strip().lower(),
                    kind=kind,
                    inbound=inbound,
                )
        except IntegrityError:
            return "already sent"
        send_recorded(
            automatic_reply_email(inbound, kind, detail),
            ticket=inbound.ticket,
            ticket_message=inbound.ticket_message,
        )
    return "sent"


def automatic_reply_email(
    inbound: InboundEmail, kind: str, detail: str = ""
) -> EmailMultiAlternatives:
    """The answer itself: to the sender, In-Reply-To their message, marked as
    automatic (RFC 3834) so their own responder stays quiet."""
    ticket = inbound.ticket
    mailbox = inbound.mailbox if inbound.mailbox and inbound.mailbox.is_active else None
    sender = sender_of(mailbox or ticket_mailbox(ticket))
    link = (
        settings.SITE_URL + reverse("portal:ticket-detail", args=[ticket.number])
        if ticket is not None
        else ""
    )
    subject = ticket.subject if ticket is not None else inbound.subject
    if kind == AutomaticReply.Kind.ACKNOWLEDGEMENT and ticket is not None:
        paragraphs = [
            f"We got your request {ticket_token(ticket.number)} and will answer "
            "as soon as we can.",
            f"Reply to this e-mail to add to it, or see the ticket at {link}",
        ]
    elif ticket is not None:  # over a limit, the rest kept
        paragraphs = [
            f"Thank you for your e-mail. We added it to ticket {ticket.reference}, "
            "but not all of it:",
            detail,
            "Files over the limit are best shared as a download link. Reply to this "
            f"e-mail to add to the ticket, or see it at {link}",
        ]
    else:  # over a limit, refused whole
        paragraphs = [
            "Thank you for your e-mail. We could not take it in:",
            detail,
            "Please send it again within the limit; large files are best shared as "
            "a download link.",
        ]
    text = "\n\n".join(
        [p for p in paragraphs if p] + [f"-- \n{sender.name}\n{AUTOMATIC_SIGNATURE}"]
    )
    return compose(
        to=inbound.from_address,
        sender=sender,
        from_name=sender.name,
        subject=subject_for(
            subject or "your e-mail", ticket.number if ticket else None, reply=True
        ),
        text=text,
        html=linebreaks(urlize(text, nofollow=True, autoescape=True)),
        headers={
            **threading_headers([inbound.message_id] if inbound.message_id else []),
            **AUTOMATIC_REPLY_HEADERS,
        },
    )
