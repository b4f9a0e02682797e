"""What a stored message becomes: a new ticket, a reply on one, a suppressed
auto-reply or bounce, a duplicate, or a quarantined message with the reason.

1. Parse (leniently; nothing usable → quarantine). A message over ``MAIL_MAX_MIB``
   is refused politely and kept.
2. Classify: bounces flag the address and go on the ticket whose mail bounced;
   auto-replies never open a ticket; list mail opens tickets but is never answered.
3. The same Message-ID twice is one message (a unique row per Message-ID in
   :class:`EmailThreadId`, written in the same transaction as the message).
4. Find the sender (by address, then by organization domain; else a new contact).
5. Thread: In-Reply-To/References to any Message-ID the desk knows, then the
   ``[#1234]`` token in the subject, then a new ticket through ``intake.submit()``.
   A sender who may not see that ticket gets a ticket of their own instead.
6. Quoted history and signatures are cut from what the agent reads; the original
   stays in the stored message.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from mailparser_reply.constants import MAIL_LANGUAGES
from mailparser_reply.parser import EmailMessage as ReplyText

from devdesk.accounts.models import Organization, User
from devdesk.accounts.services import (
    find_user_by_email,
    organization_for_email,
    unique_slug,
)
from devdesk.intake.mail import services
from devdesk.intake.mail.classify import Kind, bounce_details, classify
from devdesk.intake.mail.outbound import is_desk_address
from devdesk.intake.mail.parse import MailPart, ParsedMail, Unparseable, parse
from devdesk.intake.mail.tokens import ticket_number_in
from devdesk.intake.models import BouncedAddress, EmailThreadId, InboundEmail
from devdesk.intake.services import Submitted, submit
from devdesk.tickets import access
from devdesk.tickets.attachments import CheckedUpload, check_upload
from devdesk.tickets.errors import TicketError
from devdesk.tickets.models import Message, Ticket
from devdesk.tickets.services import NewTicket, add_message, add_system_note

logger = logging.getLogger(__name__)
Outcome = InboundEmail.Outcome
MIB = 1024 * 1024
# Reply headers ("On … wrote:") are recognised in these languages. Each one costs
# ~1 ms per 10 KB message in the stripper's expressions, so the list is short;
# quoted ">" lines and signatures are cut whatever the language.
REPLY_LANGUAGES = [lang for lang in ("en", "de", "fr", "es") if lang in MAIL_LANGUAGES]
NO_SUBJECT = "(no subject)"


@dataclass
class Body:
    text: str
    uploads: list[CheckedUpload] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # "name: why", for the notes
    over_limit: list[str] = field(default_factory=list)  # what the sender is told


def run(inbound: InboundEmail) -> InboundEmail:
    inbound.attempts += 1
    try:
        mail = parse(bytes(inbound.raw))
    except Unparseable as exc:
        return services.mark(inbound, Outcome.QUARANTINED, reason=exc.reason)
    inbound.message_id = mail.message_id or f"{inbound.sha256}@devdesk.invalid"
    inbound.subject = mail.subject
    inbound.from_address = mail.from_address
    inbound.kind = classify(mail, envelope_from=inbound.envelope_from)
    try:
        return _route(inbound, mail)
    except DatabaseError:
        raise  # an outage: the message stays ``received`` and is tried again
    except TicketError as exc:
        return services.mark(inbound, Outcome.QUARANTINED, reason=exc.message)
    except Exception as exc:  # a message this code cannot handle: kept, not lost
        logger.exception("mail %s quarantined", inbound.pk)
        return services.mark(
            inbound,
            Outcome.QUARANTINED,
            reason=f"Processing failed ({type(exc).__name__}: {exc})"[:1000],
        )


def _route(inbound: InboundEmail, mail: ParsedMail) -> InboundEmail:
    if not _from_a_person(inbound, mail):
        # Mail that leaves no Message-ID record behind: an earlier copy is looked
        # up among the stored messages. A person's mail is found by its record,
        # in the lookup that threads it (see :func:`_person`).
        earlier = _earlier_copy(inbound)
        if earlier is not None:
            return services.mark(
                inbound, Outcome.DUPLICATE, ticket_id=earlier.ticket_id
            )
    if inbound.kind == Kind.BOUNCE:
        return _bounce(inbound, mail)
    if inbound.size_bytes > settings.MAIL_MAX_MIB * MIB:
        services.mark(
            inbound,
            Outcome.REFUSED,
            reason=f"Larger than the {settings.MAIL_MAX_MIB} MiB limit.",
        )
        _answer(
            inbound, "limit", f"Messages can be at most {settings.MAIL_MAX_MIB} MiB."
        )
        return inbound
    if is_desk_address(mail.from_address):
        return services.mark(
            inbound,
            Outcome.SUPPRESSED,
            reason="Sent by one of the desk's own addresses.",
        )
    if inbound.kind == Kind.AUTO_REPLY:
        return _auto_reply(inbound, mail)
    if not mail.from_address:
        return services.mark(
            inbound,
            Outcome.QUARANTINED,
            reason="The message has no sender address (From, Sender or Return-Path).",
        )
    return _person(inbound, mail)


def _from_a_person(inbound: InboundEmail, mail: ParsedMail) -> bool:
    """Whether the message goes to :func:`_person`, which records its Message-ID."""
    return (
        inbound.kind not in (Kind.BOUNCE, Kind.AUTO_REPLY)
        and inbound.size_bytes <= settings.MAIL_MAX_MIB * MIB
        and bool(mail.from_address)
        and not is_desk_address(mail.from_address)
    )


def _earlier_copy(inbound: InboundEmail) -> InboundEmail | None:
    return (
        InboundEmail.objects.filter(message_id=inbound.message_id)
        .exclude(pk=inbound.pk)
        .exclude(outcome__in=[Outcome.RECEIVED, Outcome.QUARANTINED, Outcome.DUPLICATE])
        .order_by("id")
        .first()
    )


def _person(inbound: InboundEmail, mail: ParsedMail) -> InboundEmail:
    # One query for this message's own Message-ID (delivered before: a duplicate)
    # and the ones it answers (threading).
    known = _known([inbound.message_id, *mail.thread_ids])
    if known and known[0].message_id == inbound.message_id:
        return services.mark(inbound, Outcome.DUPLICATE, ticket_id=known[0].ticket_id)
    sender = sender_for(mail)
    body = _body(mail)
    ticket, follows = _thread(mail, sender, known)
    try:
        with transaction.atomic():
            message: Message | None
            if ticket is not None:
                message = add_message(
                    ticket,
                    author=sender,
                    body=body.text,
                    kind=_kind_of_reply(known, sender, ticket),
                    channel=Ticket.Channel.EMAIL,
                    uploads=body.uploads,
                )
                outcome = Outcome.REPLY
            else:
                submitted = _open(inbound, mail, sender, body, follows)
                ticket, message = submitted.ticket, submitted.message
                # A burst folded into the sender's open ticket is a reply to it.
                outcome = Outcome.REPLY if submitted.folded else Outcome.TICKET
            EmailThreadId.objects.create(
                message_id=inbound.message_id,
                ticket=ticket,
                ticket_message=message,
                direction=EmailThreadId.Direction.INBOUND,
            )
            services.mark(
                inbound,
                outcome,
                ticket=ticket,
                ticket_message=message,
                reason="; ".join(body.dropped),
            )
            if body.over_limit:
                _answer(inbound, "limit", " ".join(body.over_limit))
            if outcome == Outcome.TICKET and settings.MAIL_ACKNOWLEDGE:
                _answer(inbound, "acknowledgement")
    except IntegrityError:
        # Another delivery of this Message-ID won the race: one message, not two.
        inbound.refresh_from_db(fields=["attempts"])
        winner = EmailThreadId.objects.filter(message_id=inbound.message_id).first()
        if winner is None:
            raise
        return services.mark(inbound, Outcome.DUPLICATE, ticket_id=winner.ticket_id)
    return inbound


def _kind_of_reply(known: list[EmailThreadId], sender: User, ticket: Ticket) -> str:
    """Customers write public replies. Desk staff answering the mail about an
    internal note, or who may not write to the customer (engineers), write an
    internal note: a reply by mail must not show the customer a conversation
    that was never theirs."""
    if sender.is_customer:
        return Message.Kind.PUBLIC
    if not access.can_reply_publicly(sender, ticket):
        return Message.Kind.INTERNAL
    answers_note = any(
        row.ticket_message is not None and row.ticket_message.is_internal
        for row in known
    )
    return Message.Kind.INTERNAL if answers_note else Message.Kind.PUBLIC


def _open(
    inbound: InboundEmail,
    mail: ParsedMail,
    sender: User,
    body: Body,
    follows: Ticket | None,
) -> Submitted:
    text = body.text
    if follows is not None:
        text = f"Follow-up to #{follows.number}, which is closed.\n\n{text}"
    mailbox = services.mailbox_of(inbound)
    new = NewTicket(
        requester=sender,
        subject=(mail.subject or NO_SUBJECT)[: settings.TICKET_SUBJECT_MAX_CHARS],
        body=text,
        channel=Ticket.Channel.EMAIL,
        product=mailbox.product if mailbox else None,
        team=mailbox.team if mailbox else None,
        uploads=body.uploads,
    )
    # Imported history arrives all at once: its senders are not writing in a burst.
    imported = inbound.source == InboundEmail.Source.IMPORT
    return submit(new, acting_user=None, fold_bursts=not imported)


def _thread(
    mail: ParsedMail, sender: User, known: list[EmailThreadId]
) -> tuple[Ticket | None, Ticket | None]:
    """The ticket this message continues (if the sender may write on it), and a
    closed ticket it follows up on (a new ticket then says so)."""
    candidates = [row.ticket for row in known]
    number = ticket_number_in(mail.subject)
    if number is not None:
        candidates += list(Ticket.objects.filter(number=number))
    visible = access.visible_tickets(sender)
    for ticket in candidates:
        while ticket.merged_into_id is not None:
            ticket = Ticket.objects.get(pk=ticket.merged_into_id)
        if not visible.filter(pk=ticket.pk).exists():
            continue
        if ticket.status == Ticket.Status.CLOSED:
            return None, ticket
        return ticket, None
    return None, None


def sender_for(mail: ParsedMail) -> User:
    """The person who wrote: a known user by address, else a new customer contact in
    the organization owning the address's domain, else in an organization of
    their own (never one shared with strangers). Contacts get no password; they
    sign in to the portal through a password reset, which proves the address."""
    address = mail.from_address
    user = find_user_by_email(address)
    if user is not None:
        return user
    try:
        with transaction.atomic():
            organization = organization_for_email(address)
            if organization is None:
                name = (mail.from_name or address)[:200]
                organization = Organization.objects.create(
                    name=name, slug=unique_slug(name), kind=Organization.Kind.CUSTOMER
                )
            return User.objects.create_user(
                address,
                None,
                name=mail.from_name,
                organization=organization,
                role=User.Role.CUSTOMER,
            )
    except IntegrityError:  # the same new sender, in a delivery running beside this
        return User.objects.get(email__iexact=address)


def _body(mail: ParsedMail) -> Body:
    text = reply_text(mail.text)
    body = Body(text="")
    _take_attachments(mail.attachments, body)
    if not text:
        text = (
            "(This e-mail has attachments only.)" if mail.attachments else "(No text.)"
        )
    if body.dropped:
        text += "\n\n---\n" + "\n".join(f"Not attached: {d}" for d in body.dropped)
    limit = settings.MESSAGE_BODY_MAX_CHARS
    if len(text) > limit:
        note = "\n\n(Cut here: the whole e-mail is kept with the ticket.)"
        text = text[: limit - len(note)] + note
    body.text = text
    return body


# Text without any of these has no quoted history or signature to cut, and skips
# the stripper (its expressions cost milliseconds per 10 KB): quote marks, the
# signature separator, reply and forward headers of common clients and languages.
# Looked for in the lower-cased text, words by substring and line starts by one
# expression anchored on newlines: a tenth of the time one case-blind expression
# over every position takes.
REPLY_WORDS = ("wrote:", "schrieb", "écrit", "escribió", "sent from my")
REPLY_LINE_STARTS = re.compile(
    r"\n(?:[ \t]*>|-- ?(?:\n|$)|_{10,}|-{3,} ?(?:original|forwarded)|"
    r"(?:from|von|de|sent|gesendet|envoyé|enviado)\s?:)"
)


def _may_quote(text: str) -> bool:
    lower = text.lower()
    return any(word in lower for word in REPLY_WORDS) or bool(
        REPLY_LINE_STARTS.search("\n" + lower)
    )


def reply_text(text: str) -> str:
    """The new part of a reply: quoted history and the signature cut off."""
    if not text or not _may_quote(text):
        return text
    try:
        # Markdown lists start with hyphens: not a signature.
        replies = (
            ReplyText(
                text=text, languages=list(REPLY_LANGUAGES), keep_hyphen_lists=True
            )
            .read()
            .replies
        )
    except Exception:
        return text
    latest = replies[0].body.strip() if replies else ""
    return latest or text


def _take_attachments(parts: list[MailPart], body: Body) -> None:
    max_count = settings.MAIL_MAX_ATTACHMENTS
    max_bytes = settings.ATTACHMENT_MAX_MIB * MIB
    for index, part in enumerate(parts):
        if index >= max_count:
            rest = len(parts) - max_count
            body.dropped.append(f"{rest} more files (at most {max_count} per e-mail)")
            body.over_limit.append(
                f"We kept the first {max_count} attachments and left out {rest}."
            )
            return
        if len(part.content) > max_bytes:
            body.dropped.append(
                f"{part.filename}: over {settings.ATTACHMENT_MAX_MIB} MiB"
            )
            body.over_limit.append(
                f"{part.filename} is larger than the {settings.ATTACHMENT_MAX_MIB} MiB "
                "limit for attachments and was not kept."
            )
            continue
        try:
            body.uploads.append(check_upload(part.filename, part.content))
        except TicketError as exc:
            body.dropped.append(f"{part.filename}: {exc.message}")


def _bounce(inbound: InboundEmail, mail: ParsedMail) -> InboundEmail:
    details = bounce_details(mail)
    now = timezone.now()
    if details.permanent:
        for address in details.recipients:
            flagged, _ = BouncedAddress.objects.get_or_create(address=address)
            BouncedAddress.objects.filter(pk=flagged.pk).update(
                bounces=flagged.bounces + 1,
                last_bounced_at=now,
                last_reason=details.reason,
            )
    ticket = _known_ticket(_known(details.original_ids))
    if ticket is not None:
        who = ", ".join(details.recipients) or "a recipient"
        kind = "bounced" if details.permanent else "is delayed"
        add_system_note(
            ticket,
            f"E-mail to {who} {kind}: {details.reason}",
            channel=Ticket.Channel.EMAIL,
        )
    return services.mark(inbound, Outcome.SUPPRESSED, ticket=ticket)


def _auto_reply(inbound: InboundEmail, mail: ParsedMail) -> InboundEmail:
    ticket = _known_ticket(_known(mail.thread_ids))
    if ticket is not None:
        text = reply_text(mail.text)[:2000]
        add_system_note(
            ticket,
            f"Automatic reply from {mail.from_address}: {mail.subject}\n\n{text}",
            channel=Ticket.Channel.EMAIL,
        )
    return services.mark(inbound, Outcome.SUPPRESSED, ticket=ticket)


def _known(message_ids: list[str]) -> list[EmailThreadId]:
    """The desk's records of these Message-IDs, in their order (nearest first), with
    their tickets and messages: one query, read by threading and by the kind of
    reply."""
    if not message_ids:
        return []
    rows = {
        row.message_id: row
        for row in EmailThreadId.objects.filter(message_id__in=message_ids)
        .select_related("ticket", "ticket_message")
        .defer("ticket_message__body")  # only its kind is read
    }
    return [rows[mid] for mid in message_ids if mid in rows]


def _known_ticket(known: list[EmailThreadId]) -> Ticket | None:
    return known[0].ticket if known else None


def _answer(inbound: InboundEmail, kind: str, detail: str = "") -> None:
    """An automatic answer, only to a person: never to auto-replies, bounces or
    list mail (the outbound side refuses those again, and rate-limits)."""
    if inbound.kind != Kind.NORMAL:
        return
    try:
        from devdesk.intake.mail.outbound import queue_automatic_reply

        queue_automatic_reply(inbound, kind, detail)
    except Exception:  # the message is in; a lost courtesy mail is only logged
        logger.exception("automatic %s for mail %s not queued", kind, inbound.pk)
