"""``devdesk mail-process [--stdin]``: process stored mail that is still waiting."""

from __future__ import annotations

import signal
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from devdesk.intake.mail.receiver import process_stream
from devdesk.intake.mail.services import process_pending


class Command(BaseCommand):
    help = (
        "Turn stored mail still waiting into tickets and replies, oldest first "
        "(what the periodic task does). With --stdin, process the stored messages "
        "whose ids arrive on standard input, one per line, until it ends: "
        "``devdesk mail-receive`` runs it so for its messages."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--stdin",
            action="store_true",
            help="Process the message ids read from standard input",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["stdin"]:
            # The receiver that feeds it decides when it ends, by closing its input:
            # a signal meant for the receiver must not cut off its queue.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            process_stream(iter(sys.stdin.readline, ""))
            return
        done = 0
        while count := process_pending():
            done += count
        self.stdout.write(f"{done} messages processed")
