"""``devdesk mail-receive``: the LMTP (or SMTP) server a mail server delivers to.

A mail server (Postfix's ``lmtp:`` transport, or any MTA over SMTP) hands a message
over; devdesk answers 250 only once the raw bytes are committed, so a message it
acknowledged is never lost:

1. At the end of DATA the message is stored once for all its envelope recipients
   (:func:`~devdesk.intake.mail.services.store`, in a thread: the ORM is
   synchronous).
2. Stored: 250. Not stored (the database is down, locked, read-only): ``451 4.3.0``,
   a temporary failure, so the mail server keeps the message and delivers it again
   later. LMTP answers once per recipient (RFC 2033 section 4.2), all alike, since
   the message is stored once.
3. Then processors turn stored messages into tickets and replies.
   ``devdesk mail-receive`` runs ``MAIL_PROCESSORS`` of them (default 2) as child
   processes (``devdesk mail-process --stdin``, handed the stored rows' ids through
   a pipe), so that receiving and processing share the cores. Each sender's mail
   goes to one processor (by the From address, :func:`sender_key`), which takes it
   in the order it arrived: a person's second message finds the ticket their first
   one opened (a reply, or a burst folded into it). A reply by someone else to a
   message that arrived within the same moment may still be processed first, and
   then opens a ticket of its own. A :class:`Receiver` made in-process (the tests,
   whose in-memory database only their own process can see) uses one thread. A
   failure there leaves the row ``received`` for
   :func:`~devdesk.intake.mail.services.process_pending`; it never changes an
   answer already given. A processor that died is started again for its next
   message; what it held is picked up by the periodic task.

Size: SIZE advertises twice ``MAIL_MAX_MIB`` and anything bigger gets 552. A message
between the limit and twice the limit is stored, and the pipeline answers its
sender politely. Recipients: all are accepted. The mail server decides what it
delivers here, and the pipeline picks the mailbox (the default mailbox for an
address it does not know), so checking them here would only duplicate that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import socket
import subprocess
import sys
import threading
import weakref
import zlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from types import FrameType
from typing import IO, AnyStr

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import DatabaseError, connection, connections

from devdesk.intake.mail.services import process, store
from devdesk.intake.models import InboundEmail
from devdesk.tickets.events import subscribers_on_workers

logger = logging.getLogger(__name__)
MIB = 1024 * 1024
# Stores run side by side (PostgreSQL takes them in parallel; SQLite queues them on
# its write lock). Further connections wait at the end of their DATA.
STORE_THREADS = 4
# How long stopping waits for deliveries in progress to get their answer.
STOP_SECONDS = 30.0
# Where :func:`sender_key` looks for the From header, and how it finds its address:
# the first thing shaped like one on the From line or its continuation lines.
HEAD_BYTES = 64 * 1024
HEADER_END_RE = re.compile(rb"\r?\n\r?\n")
FROM_ADDRESS_RE = re.compile(
    rb"^From:(?:[^\n]*\n[ \t])*?[^\n]*?([\w.+\-=']+@[\w.\-]+)", re.I | re.M
)
NOT_STORED = "451 4.3.0 The message could not be stored; please try again later"
SHUTTING_DOWN = "451 4.3.2 The receiver is shutting down; please try again later"


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:2525`` for IPv6) as a host and a port.

    Raises :class:`ValueError` with a message fit for the person who typed it."""
    host, colon, port = value.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        host = ""  # an IPv6 address needs brackets to tell it from the port
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(
            f"{value!r} is not HOST:PORT (like 127.0.0.1:2525, or [::1]:2525)"
        )
    return host, int(port)


class Receiver:
    """An LMTP (or, with ``smtp=True``, SMTP) server running in a thread of its own:
    :meth:`start` it, then :meth:`stop` it. It is also the aiosmtpd handler."""

    def __init__(
        self, host: str, port: int, *, smtp: bool = False, child: bool = False
    ) -> None:
        self.host, self.port = host, port
        self.source = InboundEmail.Source.SMTP if smtp else InboundEmail.Source.LMTP
        self._session_class: type[_SMTP] = _SMTP if smtp else _LMTP
        # Computed once: aiosmtpd would otherwise ask DNS (getfqdn) per connection.
        self._hostname = socket.gethostname()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=__name__)
        self._server: asyncio.Server | None = None
        self._sessions: weakref.WeakSet[_SMTP] = weakref.WeakSet()
        self._deliveries = 0  # sessions between DATA and its answer
        self._answered = asyncio.Event()  # set while no delivery is in progress
        self._stopping = False
        self._storing = ThreadPoolExecutor(
            STORE_THREADS, thread_name_prefix="mail-store"
        )
        # One thread hands stored messages over, in order: to the child processes
        # (``child=True``) or to :func:`_process` itself.
        self._processing = ThreadPoolExecutor(1, thread_name_prefix="mail-process")
        self._children = (
            [ChildProcessor() for _ in range(settings.MAIL_PROCESSORS)] if child else []
        )

    def start(self) -> tuple[str, int]:
        """Listen and serve. Returns the address listened on (port 0 picks a free
        one); raises :class:`OSError` when it cannot listen there."""
        try:
            self._server = self._loop.run_until_complete(
                self._loop.create_server(self._new_session, self.host, self.port)
            )
        except OSError:
            self._release()
            raise
        self._thread.start()
        host, port = self._server.sockets[0].getsockname()[:2]
        logger.info("mail-receive: %s on %s:%s", self.source.upper(), host, port)
        return host, port

    def stop(self) -> None:
        """Stop: take no new connections; answer 451 to messages whose DATA ends from
        now on; wait up to :data:`STOP_SECONDS` for deliveries in progress to be
        answered; close the connections; process everything stored; return."""
        asyncio.run_coroutine_threadsafe(self._shut_down(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._release()
        logger.info("mail-receive: stopped")

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        """aiosmtpd's hook at the end of DATA: store, then answer."""
        if self._stopping:
            return SHUTTING_DOWN
        stored = self._storing.submit(
            _store,
            envelope.original_content or b"",
            source=self.source,
            envelope_from=envelope.mail_from or "",
            recipients=tuple(envelope.rcpt_tos),
        )
        # Queued from the store's own thread, so that a message stored for a
        # client that hung up meanwhile is processed all the same.
        stored.add_done_callback(self._queue_processing)
        try:
            pk, _ = await asyncio.wrap_future(stored)
        except DatabaseError as exc:
            logger.warning(
                "mail from <%s> not stored, answered 451: %s",
                envelope.mail_from,
                " ".join(str(exc).split()),  # one line: psycopg's messages have several
            )
            return NOT_STORED
        except Exception:  # a 5xx would make the sender bounce it; a 4xx keeps it
            logger.exception(
                "mail from <%s> not stored, answered 451", envelope.mail_from
            )
            return NOT_STORED
        return f"250 2.0.0 Stored as {pk}"

    def _queue_processing(self, stored: Future[tuple[int, str]]) -> None:
        if stored.cancelled() or stored.exception() is not None:
            return
        pk, sender = stored.result()
        if self._children:
            child = self._children[zlib.crc32(sender.encode()) % len(self._children)]
            self._processing.submit(child.hand_over, pk)
        else:
            self._processing.submit(_process, pk)

    def _new_session(self) -> _SMTP:
        session = self._session_class(
            self,
            data_size_limit=2 * settings.MAIL_MAX_MIB * MIB,
            enable_SMTPUTF8=True,
            hostname=self._hostname,
            ident="devdesk mail-receive",
            loop=self._loop,
        )
        self._sessions.add(session)
        return session

    @contextmanager
    def _delivering(self) -> Iterator[None]:
        self._deliveries += 1
        self._answered.clear()
        try:
            yield
        finally:
            self._deliveries -= 1
            if not self._deliveries:
                self._answered.set()

    async def _shut_down(self) -> None:
        self._stopping = True
        if self._server is not None:
            self._server.close()
        # Deliveries in progress each end in an answer (250, or 451 from now on).
        if self._deliveries:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._answered.wait(), STOP_SECONDS)
        for session in list(self._sessions):
            if session.transport is not None:
                session.transport.close()
        tasks = asyncio.all_tasks() - {asyncio.current_task()}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _release(self) -> None:
        # The stores first: a finished store queues its message for processing.
        for pool, threads in ((self._storing, STORE_THREADS), (self._processing, 1)):
            _close_connections(pool, threads)
            pool.shutdown(wait=True)
        for child in self._children:
            child.stop()
        self._loop.close()


class _SMTP(SMTP):
    """aiosmtpd's SMTP server, counting deliveries until they are answered."""

    event_handler: Receiver
    # RFC 5321 allows 1,000 octets a line and aiosmtpd answers a longer one with a
    # 500, which bounces the message. Some senders write longer lines; the pipeline
    # reads them.
    line_length_limit = MIB

    async def smtp_DATA(self, arg: str) -> None:
        with self.event_handler._delivering():
            await super().smtp_DATA(arg)


class _LMTP(_SMTP, LMTP):
    """aiosmtpd's LMTP server, with the answer after DATA once per recipient as RFC
    2033 section 4.2 wants (aiosmtpd sends it once, which leaves a mail server
    waiting for the others)."""

    _answers_due = 0

    async def smtp_DATA(self, arg: str) -> None:
        try:
            await super().smtp_DATA(arg)
        finally:
            self._answers_due = 0

    async def push(self, status: AnyStr) -> None:
        answers, self._answers_due = max(self._answers_due, 1), 0
        for _ in range(answers):
            await super().push(status)
        if isinstance(status, str) and status.startswith("354") and self.envelope:
            self._answers_due = len(self.envelope.rcpt_tos)


@contextmanager
def _database() -> Iterator[None]:
    """Around each use of the ORM from a receiver thread: a connection broken by a
    database restart is dropped, not reused. A sound one is kept from message to
    message (unlike a web request's, with ``CONN_MAX_AGE`` 0): opening one per
    message costs more than processing it, SQLite's most of all, whose last
    connection to close also checkpoints its write-ahead log."""
    # A connection that died while idle would fail the next message with a 451;
    # checking it first (what CONN_HEALTH_CHECKS does per request) costs one
    # round trip on PostgreSQL and nothing on SQLite.
    if connection.connection is not None and not connection.is_usable():
        connection.close()
    try:
        yield
    finally:
        if connection.errors_occurred:
            connection.close_if_unusable_or_obsolete()
            connection.errors_occurred = False


def _close_connections(pool: ThreadPoolExecutor, threads: int) -> None:
    """Close the database connections of the pool's threads, after the work queued
    so far. A connection belongs to the thread that opened it, so each thread must
    close its own: every one of ``threads`` jobs waits at a barrier until all have
    started, which puts each on a thread of its own."""
    barrier = threading.Barrier(threads)

    def close() -> None:
        try:
            barrier.wait(timeout=STOP_SECONDS)
        finally:
            connections.close_all()

    wait([pool.submit(close) for _ in range(threads)])


def _store(
    raw: bytes, *, source: str, envelope_from: str, recipients: tuple[str, ...]
) -> tuple[int, str]:
    """Store the message; returns its id and :func:`sender_key`."""
    with _database():
        inbound = store(
            raw, source=source, envelope_from=envelope_from, recipients=recipients
        )
    return inbound.pk, sender_key(raw, envelope_from)


def sender_key(raw: bytes, envelope_from: str) -> str:
    """Who wrote the message, to keep each sender's mail with one processor: the
    address in its From header, read from the raw header lines (the full parse
    is the processor's), else the envelope sender. Lower case."""
    head = HEADER_END_RE.split(raw[:HEAD_BYTES], maxsplit=1)[0]
    found = FROM_ADDRESS_RE.search(head)
    if found is not None:
        return found.group(1).decode("ascii", "replace").lower()
    return envelope_from.strip().strip("<>").lower()


def _process(pk: int) -> None:
    with _database():
        try:
            inbound = process(InboundEmail.objects.get(pk=pk))
            ticket = f" #{inbound.ticket.number}" if inbound.ticket else ""
        except Exception:  # the row stays ``received``; process_pending tries again
            logger.exception("mail %s stored, processing postponed", pk)
            return
    logger.info("mail %s <%s>: %s%s", pk, inbound.message_id, inbound.outcome, ticket)


class ChildProcessor:
    """``devdesk mail-process --stdin`` in a child process, fed the ids of stored
    messages one per line. Used from one thread at a time (the receiver's hand-over
    thread)."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._input: IO[str] | None = None

    def hand_over(self, pk: int) -> None:
        for _ in range(2):  # once more with a new child, if this one died
            if not self._running():
                self._start()
            try:
                self._write(f"{pk}\n")
                return
            except OSError:  # BrokenPipeError: it exited
                logger.warning("mail processor exited; starting another")
                self._input = None
        logger.error("mail %s stored, processing left to the periodic task", pk)

    def _running(self) -> bool:
        return (
            self._input is not None
            and self._process is not None
            and self._process.poll() is None
        )

    def _start(self) -> None:
        argv = [sys.executable, "-m", "devdesk.cli", "mail-process", "--stdin"]
        self._process = subprocess.Popen(  # noqa: S603 - our own command
            argv, stdin=subprocess.PIPE, text=True, start_new_session=True
        )
        self._input = self._process.stdin

    def _write(self, line: str) -> None:
        if self._input is None:
            raise BrokenPipeError("no mail processor")
        self._input.write(line)
        self._input.flush()

    def stop(self) -> None:
        """Close its input: it processes what it was handed, then exits."""
        process, stream = self._process, self._input
        self._process = self._input = None
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
        if process is None:
            return
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            logger.warning("mail processor still busy; the periodic task takes over")
            process.kill()
            process.wait()


def process_stream(lines: Iterator[str]) -> None:
    """The child's side: process each stored message whose id arrives, in order,
    until the input ends. What follows from a new ticket or message (triage's
    scope check, sentiment, routing, SLA clocks, rules) is left to the workers, so
    processing keeps pace with the mail server."""
    with subscribers_on_workers():
        for line in lines:
            if line.strip().isdigit():
                _process(int(line))
    connections.close_all()


def serve(host: str, port: int, *, smtp: bool = False) -> None:
    """Run a receiver until SIGTERM or SIGINT, then stop it cleanly (see
    :meth:`Receiver.stop`). Call it from the main thread; raises :class:`OSError`
    when it cannot listen."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # aiosmtpd logs every command at INFO; devdesk logs one line per message.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    receiver = Receiver(host, port, smtp=smtp, child=True)
    receiver.start()
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    stop.wait()
    receiver.stop()
