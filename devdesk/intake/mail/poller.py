"""``devdesk mail-poll`` and the ``poll_mailboxes`` task: fetch new mail from IMAP.

A message is marked on the server only after :func:`receive` has committed it, so
nothing is lost: a poll that dies in between (crash, lost connection, the database
down) leaves it unread and the next poll stores it again, as a duplicate of the
first copy (same Message-ID), which makes no second ticket.

New mail is whatever is unread (``UNSEEN``) and not deleted in the mailbox's folder.
That is one rule for both ways of filing mail away, and one every IMAP server keeps;
its price is that a message someone opens in a mail client before the poll is
skipped (it is not deleted), so give the desk a mailbox of its own.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field

from django.db import DatabaseError
from django.db.models import QuerySet
from django.utils import timezone
from imapclient import SEEN, IMAPClient
from imapclient.exceptions import IMAPClientError

from devdesk.intake.mail.services import receive
from devdesk.intake.models import InboundEmail, Mailbox

logger = logging.getLogger(__name__)

# Each network read or write gives up after this long.
TIMEOUT_SECONDS = 60.0
# Messages fetched per FETCH, so a large backlog is never held in memory at once.
FETCH_BATCH = 20


@dataclass
class PollResult:
    mailbox: str
    fetched: int = 0
    failed: int = 0  # could not be stored: left unread for the next poll
    outcomes: Counter[str] = field(default_factory=Counter)  # of the stored ones
    error: str = ""

    @property
    def stored(self) -> int:
        return sum(self.outcomes.values())


def pollable_mailboxes() -> QuerySet[Mailbox]:
    """The active mailboxes that have an IMAP server."""
    return Mailbox.objects.filter(is_active=True).exclude(imap_host="")


def poll_all(*, address: str = "") -> list[PollResult]:
    """Poll every pollable mailbox (or only ``address``), one after the other.

    A mailbox that fails is logged and reported in its result, and the others are
    still polled. Raises only when the mailboxes cannot be read (the database)."""
    mailboxes = pollable_mailboxes().order_by("address")
    if address:
        mailboxes = mailboxes.filter(address=address.strip().lower())
    results = []
    for mailbox in mailboxes:
        try:
            results.append(poll(mailbox))
        except Exception as exc:
            logger.exception("could not poll %s", mailbox.address)
            error = f"{type(exc).__name__}: {exc}"
            results.append(PollResult(mailbox.address, error=error))
    return results


def poll(mailbox: Mailbox) -> PollResult:
    """Store the mailbox's new mail, then mark it read or move it to the done folder.

    1. Connect (TLS when ``imap_ssl``), log in, create the done folder if missing,
       and open the folder.
    2. Fetch new mail in batches of ``FETCH_BATCH``, oldest first, with
       ``BODY.PEEK[]`` so fetching alone marks nothing.
    3. Store each message through :func:`receive`. When that fails (the database),
       stop: that message and the rest stay unread for the next poll.
    4. Mark what was stored: flag it ``\\Seen``, then move it to ``imap_done_folder``
       when one is set.

    A connection, login or IMAP error ends the poll and is saved, with the step it
    happened in, as ``last_poll_error`` (cleared by a poll that goes well); it is not
    raised. Raises only when the result cannot be saved (the database)."""
    result = PollResult(mailbox.address)
    step = f"connect to {mailbox.imap_host}:{mailbox.imap_port}"
    try:
        with IMAPClient(
            mailbox.imap_host,
            mailbox.imap_port,
            ssl=mailbox.imap_ssl,
            timeout=TIMEOUT_SECONDS,
        ) as client:
            step = f"log in as {mailbox.imap_username}"
            client.login(mailbox.imap_username, mailbox.imap_password)
            done_folder = mailbox.imap_done_folder
            if done_folder:
                step = f"create the folder {done_folder}"
                if not client.folder_exists(done_folder):
                    client.create_folder(done_folder)
            step = f"open the folder {mailbox.imap_folder}"
            client.select_folder(mailbox.imap_folder)
            step = f"fetch or file away mail in {mailbox.imap_folder}"
            _take_new_mail(client, mailbox, result)
    except (IMAPClientError, OSError) as exc:
        result.error = f"Could not {step}: {_reason(exc)}"
    if result.error:
        logger.warning("mail-poll %s: %s", mailbox.address, result.error)
    mailbox.last_polled_at = timezone.now()
    mailbox.last_poll_error = result.error
    mailbox.save(update_fields=["last_polled_at", "last_poll_error"])
    return result


def _take_new_mail(client: IMAPClient, mailbox: Mailbox, result: PollResult) -> None:
    uids = sorted(client.search(["UNSEEN", "UNDELETED"]))
    for start in range(0, len(uids), FETCH_BATCH):
        batch = uids[start : start + FETCH_BATCH]
        fetched = client.fetch(batch, ["BODY.PEEK[]"])
        stored: list[int] = []
        try:
            for uid in batch:
                raw = fetched.get(uid, {}).get(b"BODY[]")
                if raw is None:  # deleted by someone else since the search
                    continue
                result.fetched += 1
                try:
                    inbound = receive(
                        raw,
                        source=InboundEmail.Source.IMAP,
                        recipients=[mailbox.address],
                        mailbox=mailbox,
                    )
                except DatabaseError as exc:
                    result.failed += 1
                    result.error = (
                        "Could not store a message, so it stays unread for the next "
                        f"poll: {exc}"
                    )
                    break
                stored.append(uid)
                result.outcomes[inbound.outcome] += 1
        finally:
            # Also after an unexpected error: what was stored must not come again.
            if stored:
                _file_away(client, mailbox, stored)
        if result.failed:
            return


def _file_away(client: IMAPClient, mailbox: Mailbox, uids: list[int]) -> None:
    client.add_flags(uids, [SEEN])
    folder = mailbox.imap_done_folder
    if not folder:
        return
    if client.has_capability("MOVE"):
        client.move(uids, folder)
        return
    # RFC 6851's MOVE is missing: copy, then delete the originals.
    client.copy(uids, folder)
    client.delete_messages(uids)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
    else:  # also removes what others marked deleted here, as any mail client would
        client.expunge()


def _reason(exc: Exception) -> str:
    """The error as a person reads it: imaplib shows server replies as bytes."""
    return re.sub(r"""^b(['"])(.*)\1$""", r"\2", str(exc)) or type(exc).__name__
