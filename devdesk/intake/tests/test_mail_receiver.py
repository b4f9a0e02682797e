"""``devdesk mail-receive``: real LMTP and SMTP over loopback sockets. A message is
answered 250 only once it is stored, 4xx when the database is unavailable, and a
redelivery after that makes exactly one message.

The receiver runs in a thread of this process (its threads use the test database
through connections of their own, hence ``transaction=True``), or as a
``devdesk mail-receive`` process where the test cuts its database connection.
Leaving :func:`running` stops the receiver, which processes everything it stored,
so the tests check the database after that without waiting."""

from __future__ import annotations

import contextlib
import os
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from devdesk.intake.mail.receiver import Receiver, sender_key
from devdesk.intake.models import InboundEmail, Mailbox
from devdesk.intake.tests.mail import raw_mail
from devdesk.intake.tests.tcp_proxy import TcpProxy
from devdesk.tests.processes import database_url, free_port, wait_until
from devdesk.tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db(transaction=True)
Outcome = InboundEmail.Outcome
SUPPORT = "support@skyforge.test"
SALES = "sales@skyforge.test"
SENDER = "carla@acme.test"
SOCKET_SECONDS = 30  # no socket operation of these tests waits longer
MIB = 1024 * 1024


@pytest.fixture
def mailbox(db) -> Mailbox:  # type: ignore[no-untyped-def]
    return Mailbox.objects.create(address=SUPPORT, is_default=True)


@contextlib.contextmanager
def running(*, smtp: bool = False) -> Iterator[tuple[str, int]]:
    """A receiver on a free loopback port; stopped (and done processing) on leaving."""
    receiver = Receiver("127.0.0.1", 0, smtp=smtp)
    address = receiver.start()
    try:
        yield address
    finally:
        receiver.stop()


@contextlib.contextmanager
def lmtp_session() -> Iterator[smtplib.LMTP]:
    """An LMTP connection to a receiver of its own (see :func:`running`)."""
    with (
        running() as (host, port),
        smtplib.LMTP(host, port, timeout=SOCKET_SECONDS) as lmtp,
    ):
        yield lmtp


def all_processed() -> bool:
    return not InboundEmail.objects.filter(outcome=Outcome.RECEIVED).exists()


def wire(raw: bytes) -> bytes:
    """A message as mail servers send it: CRLF line ends."""
    return raw.replace(b"\n", b"\r\n")


def answers(lmtp: smtplib.LMTP, message: bytes, recipients: int) -> list[int]:
    """DATA, then the reply codes: LMTP gives one per recipient (smtplib reads only
    the first)."""
    first, _ = lmtp.data(message)
    return [first] + [lmtp.getreply()[0] for _ in range(recipients - 1)]


# --- delivering ----------------------------------------------------------------------


def test_an_lmtp_delivery_is_stored_as_it_arrived_and_becomes_a_ticket(mailbox):
    message = wire(raw_mail(subject="Webhook retries arrive twice"))

    with lmtp_session() as lmtp:
        refused = lmtp.sendmail(SENDER, [SUPPORT], message)

    assert refused == {}
    inbound = InboundEmail.objects.get()
    assert (inbound.source, inbound.envelope_from, inbound.recipients) == (
        InboundEmail.Source.LMTP,
        SENDER,
        SUPPORT,
    )
    assert bytes(inbound.raw) == message
    assert inbound.outcome == Outcome.TICKET
    assert Ticket.objects.get().subject == "Webhook retries arrive twice"


def test_an_smtp_delivery_becomes_a_ticket(mailbox):
    with (
        running(smtp=True) as (host, port),
        smtplib.SMTP(host, port, timeout=SOCKET_SECONDS) as smtp,
    ):
        refused = smtp.sendmail(SENDER, [SUPPORT], wire(raw_mail()))

    assert refused == {}
    inbound = InboundEmail.objects.get()
    assert (inbound.source, inbound.outcome) == (
        InboundEmail.Source.SMTP,
        Outcome.TICKET,
    )
    assert Ticket.objects.count() == 1


def test_lmtp_answers_every_recipient_of_a_message_stored_once(mailbox):
    with lmtp_session() as lmtp:
        lmtp.ehlo()
        lmtp.mail(SENDER)
        lmtp.rcpt(SUPPORT)
        lmtp.rcpt(SALES)
        codes = answers(lmtp, wire(raw_mail()), recipients=2)
        # the session goes on: the answers were exactly one per recipient
        assert lmtp.noop()[0] == 250

    assert codes == [250, 250]
    inbound = InboundEmail.objects.get()
    assert inbound.recipients.splitlines() == [SUPPORT, SALES]
    assert Ticket.objects.count() == 1


def test_a_message_with_lines_longer_than_rfc_5321_allows_is_stored(mailbox):
    # the standard library folds long lines; some mail software does not
    message = wire(raw_mail(body="TRACE").replace(b"TRACE", b"frame " * 2000))

    with lmtp_session() as lmtp:
        refused = lmtp.sendmail(SENDER, [SUPPORT], message)

    assert refused == {}
    assert bytes(InboundEmail.objects.get().raw) == message


def test_the_same_message_delivered_twice_is_one_message_on_the_ticket(mailbox):
    message = wire(raw_mail())

    # a mail server delivers again when our answer was lost
    for _ in range(2):
        with lmtp_session() as lmtp:
            assert lmtp.sendmail(SENDER, [SUPPORT], message) == {}

    outcomes = InboundEmail.objects.order_by("id").values_list("outcome", flat=True)
    assert list(outcomes) == [Outcome.TICKET, Outcome.DUPLICATE]
    assert Message.objects.filter(ticket=Ticket.objects.get()).count() == 1


def test_a_message_over_twice_the_limit_is_refused_with_552_and_not_stored(
    mailbox, settings
):
    settings.MAIL_MAX_MIB = 1
    line = b"x" * 76 + b"\r\n"
    message = wire(raw_mail()) + line * (2 * MIB // len(line) + 1)

    with lmtp_session() as lmtp:
        lmtp.ehlo()
        advertised = int(lmtp.esmtp_features["size"])
        # a client that declares the size is refused at MAIL ...
        declared = lmtp.mail(SENDER, [f"SIZE={len(message)}"])[0]
        lmtp.rset()
        # ... one that does not, after DATA, once per recipient
        lmtp.mail(SENDER)
        lmtp.rcpt(SUPPORT)
        lmtp.rcpt(SALES)
        codes = answers(lmtp, message, recipients=2)

    assert advertised == 2 * MIB
    assert declared == 552
    assert codes == [552, 552]
    assert InboundEmail.objects.count() == 0


# --- the database goes away in the middle of a delivery -------------------------------


def test_a_delivery_while_sqlite_is_locked_gets_451_and_its_redelivery_one_message(
    mailbox,
):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's lock; PostgreSQL has the connection cut below")
    message = wire(raw_mail())

    with lmtp_session() as lmtp:
        lmtp.ehlo()
        lmtp.mail(SENDER)
        lmtp.rcpt(SUPPORT)
        lmtp.rcpt(SALES)
        # given: another connection holds the database while the message is sent
        with connection.cursor() as cursor:
            cursor.execute("BEGIN EXCLUSIVE")
            try:
                refused = answers(lmtp, message, recipients=2)
            finally:
                cursor.execute("ROLLBACK")
        stored_meanwhile = InboundEmail.objects.count()
        # when: the mail server delivers it again
        lmtp.rset()
        lmtp.mail(SENDER)
        lmtp.rcpt(SUPPORT)
        lmtp.rcpt(SALES)
        accepted = answers(lmtp, message, recipients=2)

    # then
    assert refused == [451, 451]
    assert stored_meanwhile == 0
    assert accepted == [250, 250]
    assert InboundEmail.objects.get().outcome == Outcome.TICKET
    assert Message.objects.filter(ticket=Ticket.objects.get()).count() == 1


def test_a_delivery_while_postgresql_is_cut_off_gets_451_and_its_redelivery_one_message(
    mailbox, tmp_path
):
    if connection.vendor != "postgresql":
        pytest.skip("cuts a PostgreSQL connection; SQLite has the lock above")
    settings_dict = connection.settings_dict
    proxy = TcpProxy(
        settings_dict["HOST"] or "127.0.0.1", settings_dict["PORT"] or 5432
    )
    url = database_url().replace(
        f":{settings_dict['PORT'] or 5432}/", f":{proxy.port}/"
    )
    # From two people: one person's two mails in a minute would fold (a burst).
    earlier = wire(raw_mail(sender="dev@globex.test", subject="Earlier"))
    message = wire(raw_mail())
    try:
        with mail_receive_process(tmp_path, DATABASE_URL=url) as (process, port):
            with smtplib.LMTP("127.0.0.1", port, timeout=SOCKET_SECONDS) as lmtp:
                # given: a receiver whose connections to the database are open
                assert lmtp.sendmail(SENDER, [SUPPORT], earlier) == {}
                wait_until(all_processed, SOCKET_SECONDS, "the earlier message")
                lmtp.mail(SENDER)
                lmtp.rcpt(SUPPORT)
                lmtp.rcpt(SALES)
                # when: the database goes away while the message is sent
                proxy.cut()
                refused = answers(lmtp, message, recipients=2)
                stored_meanwhile = InboundEmail.objects.count()
                # and comes back; the mail server delivers again
                proxy.restore()
                lmtp.rset()
                lmtp.mail(SENDER)
                lmtp.rcpt(SUPPORT)
                lmtp.rcpt(SALES)
                accepted = answers(lmtp, message, recipients=2)
            process.send_signal(signal.SIGTERM)
            exit_code = process.wait(timeout=SOCKET_SECONDS)
    finally:
        proxy.close()

    # then
    assert refused == [451, 451]
    assert stored_meanwhile == 1
    assert accepted == [250, 250]
    assert exit_code == 0
    outcomes = InboundEmail.objects.values_list("outcome", flat=True)
    assert list(outcomes) == [Outcome.TICKET, Outcome.TICKET]
    assert Ticket.objects.count() == 2


# --- the command -------------------------------------------------------------------


@contextlib.contextmanager
def mail_receive_process(
    tmp_path: Path, **env: str
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``devdesk mail-receive`` on a free port, with its log in ``tmp_path``."""
    port = free_port()
    argv = [sys.executable, "-m", "devdesk.cli", "mail-receive"]
    log = tmp_path / "mail-receive.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [*argv, "--listen", f"127.0.0.1:{port}"],
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "devdesk.settings",
                "DEVDESK_DATA_DIR": str(tmp_path / "data"),
                "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
                "PYTHONUNBUFFERED": "1",
                **env,
            },
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        wait_until(
            lambda: listening(port) or process.poll() is not None,
            SOCKET_SECONDS,
            "devdesk mail-receive to listen",
        )
        assert process.poll() is None, log.read_text()
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=SOCKET_SECONDS)


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_mail_receive_stops_on_sigterm_closing_idle_connections(tmp_path):
    # No message is sent: an empty SQLite file of its own will do.
    with (
        mail_receive_process(tmp_path, DATABASE_URL="") as (process, port),
        smtplib.LMTP("127.0.0.1", port, timeout=SOCKET_SECONDS) as lmtp,
    ):
        assert lmtp.ehlo()[0] == 250  # a mail server keeps its connection open
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=SOCKET_SECONDS) == 0
        with pytest.raises(smtplib.SMTPServerDisconnected):
            lmtp.noop()


def sqlite_of_its_own(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A migrated SQLite file in ``tmp_path`` for a ``devdesk mail-receive``
    process: the environment that points it there, and the file."""
    env = {"DATABASE_URL": "", "DEVDESK_DATA_DIR": str(tmp_path / "data")}
    subprocess.run(
        [sys.executable, "-m", "devdesk.cli", "migrate", "-v0"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "devdesk.settings", **env},
        check=True,
    )
    return env, tmp_path / "data" / "devdesk.sqlite3"


def test_the_processor_process_that_died_is_replaced_and_stopping_waits_for_it(
    tmp_path,
):
    # given: a receiver on a SQLite file of its own, which has processed a message
    _, database = sqlite_of_its_own(tmp_path)

    def outcomes() -> list[str]:
        with contextlib.closing(sqlite3.connect(database, timeout=30)) as db:
            rows = db.execute("SELECT outcome FROM intake_inboundemail ORDER BY id")
            return [outcome for (outcome,) in rows]

    with mail_receive_process(tmp_path, DATABASE_URL="") as (process, port):
        with smtplib.LMTP("127.0.0.1", port, timeout=SOCKET_SECONDS) as lmtp:
            lmtp.sendmail(SENDER, [SUPPORT], wire(raw_mail(subject="First")))
            wait_until(lambda: outcomes() == [Outcome.TICKET], SOCKET_SECONDS, "one")
            processor = child_of(process.pid)
            # when: its processor process dies, and more mail comes
            os.kill(processor, signal.SIGKILL)
            wait_until(lambda: not alive(processor), SOCKET_SECONDS, "it to die")
            for n in range(3):  # from three people: one person's would fold
                more = raw_mail(sender=f"dev{n}@globex.test", subject=f"More {n}")
                lmtp.sendmail(SENDER, [SUPPORT], wire(more))
        # and the receiver is stopped at once
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(timeout=SOCKET_SECONDS)

    # then: another processor took the new mail, and stopping waited for it
    assert exit_code == 0
    assert outcomes() == [Outcome.TICKET] * 4
    assert child_of(process.pid) is None


def test_each_senders_mail_goes_to_one_of_two_processors_in_order(tmp_path):
    # given: a receiver with two processor processes, on a SQLite file of its own
    env, database = sqlite_of_its_own(tmp_path)
    senders = [f"dev{n}@initech{n % 3}.test" for n in range(8)]

    def rows() -> list[tuple[str, str, int | None]]:
        with contextlib.closing(sqlite3.connect(database, timeout=30)) as db:
            return list(
                db.execute(
                    "SELECT from_address, outcome, ticket_id "
                    "FROM intake_inboundemail ORDER BY id"
                )
            )

    with mail_receive_process(tmp_path, MAIL_PROCESSORS="2", **env) as (process, port):
        with smtplib.LMTP("127.0.0.1", port, timeout=SOCKET_SECONDS) as lmtp:
            # when: each sender writes, then answers their own message twice at once
            for round_ in range(3):
                for n, sender in enumerate(senders):
                    previous = f"<m{n}.{round_ - 1}@initech.test>"
                    lmtp.sendmail(
                        SENDER,
                        [SUPPORT],
                        wire(
                            raw_mail(
                                sender=sender,
                                subject=f"Build {n} fails"
                                if round_ == 0
                                else f"Re: Build {n} fails",
                                message_id=f"<m{n}.{round_}@initech.test>",
                                in_reply_to=previous if round_ else None,
                            )
                        ),
                    )
        wait_until(
            lambda: (
                all(outcome != "received" for _, outcome, _ in rows())
                and len(rows()) == 3 * len(senders)
            ),
            SOCKET_SECONDS,
            "all processed",
        )
        processors = children_of(process.pid)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=SOCKET_SECONDS) == 0

    # then: two processors ran, and every sender's answers joined their ticket
    assert len(processors) == 2
    for sender in senders:
        mine = [(outcome, ticket) for who, outcome, ticket in rows() if who == sender]
        assert [outcome for outcome, _ in mine] == ["ticket", "reply", "reply"]
        assert len({ticket for _, ticket in mine}) == 1


@pytest.mark.parametrize(
    ("raw", "envelope", "key"),
    [
        (b"Subject: x\r\nFrom: Dev <Dev1@Acme.test>\r\n\r\nhi", "", "dev1@acme.test"),
        (b'From:\r\n "Doe, J" <j.doe+x@acme.test>\r\n\r\nhi', "", "j.doe+x@acme.test"),
        (
            b"Subject: no sender\r\n\r\nFrom: not@header.test",
            "<B@Bounce.test>",
            "b@bounce.test",
        ),
        (b"", "", ""),
    ],
)
def test_the_sender_key_is_the_from_address_else_the_envelope_sender(
    raw, envelope, key
):
    assert sender_key(raw, envelope) == key


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a dead process its parent has not reaped is a zombie)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def child_of(pid: int) -> int | None:
    """The first child process of ``pid``, by Linux's /proc."""
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            children = (task / "children").read_text().split()
            if children:
                return int(children[0])
    return None


@pytest.mark.parametrize("listen", ["2525", "localhost", "127.0.0.1:port", "::1:25"])
def test_a_listen_address_that_is_not_host_and_port_is_a_clear_error(listen):
    with pytest.raises(CommandError, match=r"--listen: .* is not HOST:PORT"):
        call_command("mail_receive", "--listen", listen)


def test_a_port_in_use_is_a_clear_error():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(CommandError, match=f"Cannot listen on 127.0.0.1:{port}"):
            call_command("mail_receive", "--listen", f"127.0.0.1:{port}")
