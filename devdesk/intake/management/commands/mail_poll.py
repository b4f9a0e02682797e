"""``devdesk mail-poll [--mailbox ADDRESS] [--loop]``: see
:mod:`devdesk.intake.mail.poller`."""

from __future__ import annotations

import signal
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, close_old_connections

from devdesk.intake.mail.importer import COUNT_KEYS
from devdesk.intake.mail.poller import PollResult, poll_all, pollable_mailboxes


class Command(BaseCommand):
    stopping = False
    help = (
        "Fetch new mail from the mailboxes that have an IMAP server, store it as "
        "tickets and replies, then mark it read or move it to the done folder. "
        "With --loop, poll every MAIL_POLL_SECONDS until SIGTERM or Ctrl-C."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--mailbox", help="Poll only this support address")
        parser.add_argument(
            "--loop",
            action="store_true",
            help="Keep polling every MAIL_POLL_SECONDS; stops on SIGTERM or SIGINT.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        address: str = (options["mailbox"] or "").strip().lower()
        if address and not pollable_mailboxes().filter(address=address).exists():
            raise CommandError(f"No active mailbox {address} with an IMAP server.")
        if not options["loop"]:
            results = self.poll(address)
            failed = sum(1 for result in results if result.error)
            if failed:
                raise CommandError(f"{failed} of {len(results)} mailboxes had errors.")
            return
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        self.stdout.write(f"Polling every {settings.MAIL_POLL_SECONDS}s.")
        while not self.stopping:
            # A long-running process: drop a connection the database closed or
            # that is past CONN_MAX_AGE, as Django does between requests.
            close_old_connections()
            try:
                self.poll(address)
            except DatabaseError as exc:  # try again next round
                self.stderr.write(f"Could not read the mailboxes: {exc}")
            self.pause(settings.MAIL_POLL_SECONDS)
        self.stdout.write("Mail poller stopped.")

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        # Only a flag: a handler that takes a lock (threading.Event.set) deadlocks
        # when the signal arrives while this thread holds that lock.
        self.stopping = True

    def pause(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 1.0))

    def poll(self, address: str) -> list[PollResult]:
        results = poll_all(address=address)
        if not results:
            self.stdout.write("No active mailbox has an IMAP server.")
        for result in results:
            self.stdout.write(describe(result))
        self.stdout.flush()
        return results


def describe(result: PollResult) -> str:
    line = f"{result.mailbox}: {result.fetched} fetched, {result.stored} stored"
    counts = [
        f"{key.replace('_', ' ')} {result.outcomes[outcome]}"
        for outcome, key in COUNT_KEYS.items()
        if result.outcomes[outcome]
    ]
    if counts:
        line += f" ({', '.join(counts)})"
    if result.failed:
        line += f", {result.failed} left unread for the next poll"
    if result.error:
        line += f"\n  error: {result.error}"
    return line
