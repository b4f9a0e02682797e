"""``peer mail-import FILE...``: django-helpdesk's own e-mail intake over the given
message files, one by one, as its ``get_email`` command does for a local mail
folder (``helpdesk.email.extract_email_metadata`` per file), except that an
exception is counted and the run goes on (its own command stops at the first).

Mail it sends goes to Django's in-memory outbox, so each automatic answer is
counted against the message that caused it. Prints one JSON object.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from django.core import mail
from django.test.utils import override_settings
from django.utils import encoding


def import_files(paths: list[Path]) -> dict[str, Any]:
    from helpdesk.email import extract_email_metadata
    from helpdesk.exceptions import DeleteIgnoredTicketException, IgnoreTicketException
    from helpdesk.models import FollowUp, Queue, Ticket

    queue, _ = Queue.objects.get_or_create(
        slug="mail",
        defaults={
            "title": "Mail",
            "email_address": "support@helpdesk.example",
            "allow_email_submission": True,
            "email_box_type": "local",
        },
    )
    logger = logging.getLogger("peer.mail")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    messages: list[dict[str, Any]] = []
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"
    ):
        mail.outbox = []
        started = time.perf_counter()
        for path in paths:
            tickets, followups = Ticket.objects.count(), FollowUp.objects.count()
            sent = len(mail.outbox)
            entry: dict[str, Any] = {"path": str(path), "error": ""}
            # As its get_email does for a local folder: the file read as text.
            text = encoding.force_str(path.read_bytes(), errors="replace")
            try:
                extract_email_metadata(message=text, queue=queue, logger=logger)
            except (IgnoreTicketException, DeleteIgnoredTicketException):
                entry["error"] = "ignored"
            except Exception as exc:
                entry["error"] = f"{type(exc).__name__}: {exc}"[:300]
            entry["ticket_created"] = Ticket.objects.count() > tickets
            entry["followup_added"] = FollowUp.objects.count() > followups
            entry["mails_sent"] = len(mail.outbox) - sent
            messages.append(entry)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "messages": messages}
