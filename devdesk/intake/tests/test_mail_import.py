"""``devdesk mail-import``: .eml files, an mbox and a Maildir, through the same path
as the receiver, with a summary whose counts add up."""

from __future__ import annotations

import json
import mailbox as stdlib_mailbox
from email.utils import make_msgid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from devdesk.intake.models import InboundEmail
from devdesk.intake.tests.mail import raw_mail
from devdesk.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_acknowledgements(settings):  # type: ignore[no-untyped-def]
    settings.MAIL_ACKNOWLEDGE = False


def run_import(capsys, *args: str) -> dict:  # type: ignore[no-untyped-def]
    call_command("mail_import", *args, "--json")
    return json.loads(capsys.readouterr().out)


def test_an_mbox_a_maildir_and_eml_files_in_one_run(tmp_path, capsys):
    first_id = make_msgid(domain="acme.test")
    box = stdlib_mailbox.mbox(tmp_path / "archive.mbox")
    box.add(raw_mail(message_id=first_id, body="From the beginning."))
    box.add(raw_mail(sender="carla@acme.test", in_reply_to=first_id, subject="Re: x"))
    box.flush()
    maildir = stdlib_mailbox.Maildir(tmp_path / "Maildir")
    maildir.add(raw_mail(headers={"Auto-Submitted": "auto-replied"}))
    (tmp_path / "one.eml").write_bytes(raw_mail(subject="Single file"))
    (tmp_path / "again.eml").write_bytes((tmp_path / "one.eml").read_bytes())
    (tmp_path / "junk.eml").write_bytes(b"")

    result = run_import(
        capsys,
        str(tmp_path / "archive.mbox"),
        str(tmp_path / "Maildir"),
        str(tmp_path / "one.eml"),
        str(tmp_path / "again.eml"),
        str(tmp_path / "junk.eml"),
    )

    counts = {k: v for k, v in result.items() if k != "messages"}
    assert counts == {
        "read": 6,
        "tickets_created": 2,
        "added_to_tickets": 1,
        "suppressed": 1,
        "duplicates": 1,
        "quarantined": 1,
        "refused": 0,
        "pending": 0,
    }
    first, reply = result["messages"][:2]
    assert (first["index"], reply["index"]) == (0, 1)
    assert first["ticket"] == reply["ticket"] == Ticket.objects.earliest("id").number
    assert [m["outcome"] for m in result["messages"]] == [
        "ticket",
        "reply",
        "suppressed",
        "ticket",
        "duplicate",
        "quarantined",
    ]
    assert result["messages"][-1]["reason"] == "The message is empty."
    assert InboundEmail.objects.filter(source="import").count() == 6


def test_the_text_summary_names_what_was_quarantined(tmp_path, capsys):
    (tmp_path / "bad.eml").write_bytes(b"no headers here\n")

    call_command("mail_import", str(tmp_path / "bad.eml"))

    out = capsys.readouterr().out
    assert "1 messages read" in out
    assert "quarantined: 1" in out
    assert "bad.eml: The message has no header lines" in out


def test_a_missing_path_is_a_clear_error_and_imports_nothing(tmp_path):
    with pytest.raises(CommandError, match="No such file or folder"):
        call_command("mail_import", str(tmp_path / "nope.mbox"))
    assert InboundEmail.objects.count() == 0


def test_an_unknown_mailbox_is_refused(tmp_path):
    (tmp_path / "one.eml").write_bytes(raw_mail())

    with pytest.raises(CommandError, match="No mailbox"):
        call_command("mail_import", str(tmp_path / "one.eml"), "--mailbox", "x@y.test")
