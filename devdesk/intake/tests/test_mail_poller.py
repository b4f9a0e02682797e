"""Mail in over IMAP, against a real Dovecot: a message is marked only once stored."""

from __future__ import annotations

import os
import signal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError
from imapclient import SEEN

from devdesk.intake.mail import poller
from devdesk.intake.mail.poller import poll, poll_all
from devdesk.intake.mail.services import receive
from devdesk.intake.models import InboundEmail, Mailbox
from devdesk.intake.tasks import poll_mailboxes
from devdesk.intake.tests.dovecot import Dovecot, free_port, running_dovecot
from devdesk.intake.tests.mail import raw_mail
from devdesk.tickets.models import Ticket

pytestmark = pytest.mark.django_db
Outcome = InboundEmail.Outcome


@pytest.fixture(scope="module")
def dovecot_server():
    with running_dovecot() as server:
        yield server


@pytest.fixture
def imap(dovecot_server: Dovecot) -> Dovecot:
    dovecot_server.empty()
    return dovecot_server


@pytest.fixture
def mailbox(imap: Dovecot) -> Mailbox:
    return Mailbox.objects.create(
        address="support@skyforge.test",
        is_default=True,
        imap_host=imap.host,
        imap_port=imap.port,
        imap_ssl=False,
        imap_username=imap.username,
        imap_password=imap.password,
    )


def put(imap: Dovecot, *messages: bytes) -> None:
    with imap.client() as client:
        for raw in messages:
            client.append("INBOX", raw)


def seen_by_subject(
    imap: Dovecot, folder: str = "INBOX", *, account: str = ""
) -> dict[str, bool]:
    """Each message in the folder, by subject: has it been marked read?"""
    with imap.client(account) as client:
        client.select_folder(folder, readonly=True)
        fetched = client.fetch(
            client.search("ALL"), ["FLAGS", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]
        )
    return {
        data[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().strip()[len("Subject: ") :]: (
            SEEN in data[b"FLAGS"]
        )
        for data in fetched.values()
    }


def test_polling_stores_each_new_message_as_a_ticket_then_marks_it_read(imap, mailbox):
    put(
        imap,
        raw_mail(sender="dana@gmail.com", subject="Login loop"),
        raw_mail(sender="eli@example.org", subject="Export is empty"),
    )

    result = poll(mailbox)

    assert (result.fetched, result.stored, result.failed, result.error) == (2, 2, 0, "")
    assert result.outcomes == {Outcome.TICKET: 2}
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == [
        "Export is empty",
        "Login loop",
    ]
    assert set(
        InboundEmail.objects.values_list("source", "mailbox__address", "recipients")
    ) == {("imap", "support@skyforge.test", "support@skyforge.test")}
    assert seen_by_subject(imap) == {"Login loop": True, "Export is empty": True}
    mailbox.refresh_from_db()
    assert mailbox.last_polled_at is not None
    assert mailbox.last_poll_error == ""


def test_a_second_poll_fetches_nothing_new(imap, mailbox):
    put(imap, raw_mail(subject="Login loop"))
    poll(mailbox)

    again = poll(mailbox)

    assert (again.fetched, again.stored) == (0, 0)
    assert InboundEmail.objects.count() == 1


def test_a_backlog_larger_than_one_fetch_is_taken_whole(imap, mailbox, monkeypatch):
    monkeypatch.setattr(poller, "FETCH_BATCH", 2)
    put(imap, *(raw_mail(subject=f"Question {n}") for n in range(5)))

    result = poll(mailbox)

    assert (result.fetched, result.stored) == (5, 5)
    assert Ticket.objects.count() == 5
    assert all(seen_by_subject(imap).values())


def test_with_a_done_folder_stored_mail_is_moved_there(imap, mailbox):
    mailbox.imap_done_folder = "Filed"  # does not exist yet
    mailbox.save()
    put(imap, raw_mail(subject="Login loop"))

    result = poll(mailbox)

    assert (result.stored, result.error) == (1, "")
    assert seen_by_subject(imap) == {}
    assert seen_by_subject(imap, "Filed") == {"Login loop": True}


@pytest.mark.parametrize("account", ["no-move", "imap4rev1"])
def test_without_imap_move_mail_is_copied_to_the_done_folder_and_deleted(
    imap, mailbox, account
):
    # given a server that offers no MOVE (RFC 6851), nor perhaps UIDPLUS
    mailbox.imap_username = account
    mailbox.imap_done_folder = "Filed"
    mailbox.save()
    with imap.client(account) as client:
        assert b"MOVE" not in client.capabilities()
        client.append("INBOX", raw_mail(subject="Login loop"))

    # when
    result = poll(mailbox)

    # then
    assert (result.stored, result.error) == (1, "")
    assert seen_by_subject(imap, account=account) == {}
    assert seen_by_subject(imap, "Filed", account=account) == {"Login loop": True}


def test_a_message_that_could_not_be_stored_stays_unread_for_the_next_poll(
    imap, mailbox, monkeypatch
):
    # given the database refuses the second of three messages
    def receive_but_not_the_export(raw: bytes, **kwargs):  # type: ignore[no-untyped-def]
        if b"Subject: Export is empty" in raw:
            raise DatabaseError("disk full")
        return receive(raw, **kwargs)

    monkeypatch.setattr(poller, "receive", receive_but_not_the_export)
    put(
        imap,
        raw_mail(subject="Login loop"),
        raw_mail(subject="Export is empty"),
        raw_mail(subject="Webhook retries"),
    )

    # when
    result = poll(mailbox)

    # then the first is stored, and the poll stops at the failure
    assert (result.fetched, result.stored, result.failed) == (2, 1, 1)
    assert seen_by_subject(imap) == {
        "Login loop": True,
        "Export is empty": False,
        "Webhook retries": False,
    }
    mailbox.refresh_from_db()
    assert mailbox.last_poll_error == (
        "Could not store a message, so it stays unread for the next poll: disk full"
    )

    # and once the database is back, the next poll takes the rest
    monkeypatch.setattr(poller, "receive", receive)
    assert poll(mailbox).stored == 2
    assert Ticket.objects.count() == 3
    assert all(seen_by_subject(imap).values())
    mailbox.refresh_from_db()
    assert mailbox.last_poll_error == ""


def test_a_message_stored_before_a_crash_comes_again_as_a_duplicate(imap, mailbox):
    # given a poll stored the message and died before marking it read
    raw = raw_mail(subject="Login loop")
    first = receive(raw, source="imap", recipients=[mailbox.address], mailbox=mailbox)
    put(imap, raw)

    # when
    result = poll(mailbox)

    # then
    assert result.outcomes == {Outcome.DUPLICATE: 1}
    assert Ticket.objects.get() == first.ticket
    assert seen_by_subject(imap) == {"Login loop": True}


def test_a_wrong_password_is_saved_on_the_mailbox_not_raised(imap, mailbox):
    mailbox.imap_password = "not-the-password"
    mailbox.save()
    put(imap, raw_mail(subject="Login loop"))

    [result] = poll_all()

    expected = (
        "Could not log in as support: [AUTHENTICATIONFAILED] Authentication failed."
    )
    assert result.error == expected
    mailbox.refresh_from_db()
    assert mailbox.last_poll_error == expected
    assert seen_by_subject(imap) == {"Login loop": False}


def test_a_server_that_does_not_answer_is_saved_on_the_mailbox(imap, mailbox):
    mailbox.imap_port = port = free_port()
    mailbox.save()

    [result] = poll_all()

    assert result.error.startswith(f"Could not connect to 127.0.0.1:{port}: ")
    mailbox.refresh_from_db()
    assert mailbox.last_poll_error == result.error


def test_poll_all_skips_inactive_mailboxes_and_those_without_imap(imap, mailbox):
    Mailbox.objects.create(address="sales@skyforge.test")  # delivered by LMTP
    Mailbox.objects.create(
        address="old@skyforge.test", imap_host=imap.host, is_active=False
    )

    assert [result.mailbox for result in poll_all()] == ["support@skyforge.test"]


def test_the_task_polls_every_mailbox_and_counts_what_it_stored(imap, mailbox):
    put(imap, raw_mail(subject="Login loop"))

    assert poll_mailboxes.enqueue().return_value == 1
    assert Ticket.objects.count() == 1


def test_mail_poll_prints_what_it_fetched(imap, mailbox):
    put(imap, raw_mail(subject="Login loop"), raw_mail(subject="Login loop again"))
    out = StringIO()

    call_command("mail_poll", "--mailbox", "Support@Skyforge.test", stdout=out)

    assert out.getvalue() == (
        "support@skyforge.test: 2 fetched, 2 stored (tickets created 2)\n"
    )


def test_mail_poll_fails_when_a_mailbox_has_an_error(imap, mailbox):
    mailbox.imap_password = "not-the-password"
    mailbox.save()
    out = StringIO()

    with pytest.raises(CommandError, match="1 of 1 mailboxes had errors"):
        call_command("mail_poll", stdout=out)
    assert "error: Could not log in as support" in out.getvalue()


def test_mail_poll_refuses_an_unknown_mailbox(mailbox):
    with pytest.raises(CommandError, match=r"No active mailbox help@skyforge\.test"):
        call_command("mail_poll", "--mailbox", "help@skyforge.test")


# Not inside a test transaction: the loop closes connections that are not in
# autocommit, as a long-running process should.
@pytest.mark.django_db(transaction=True)
def test_mail_poll_loop_stops_on_sigterm(imap, mailbox, monkeypatch):
    from devdesk.intake.management.commands import mail_poll

    def get_stopped_while_polling(**kwargs):  # type: ignore[no-untyped-def]
        os.kill(os.getpid(), signal.SIGTERM)
        return poll_all(**kwargs)

    monkeypatch.setattr(mail_poll, "poll_all", get_stopped_while_polling)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    put(imap, raw_mail(subject="Login loop"))
    out = StringIO()
    try:
        call_command("mail_poll", "--loop", stdout=out)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)

    assert out.getvalue().splitlines() == [
        "Polling every 60s.",
        "support@skyforge.test: 1 fetched, 1 stored (tickets created 1)",
        "Mail poller stopped.",
    ]
