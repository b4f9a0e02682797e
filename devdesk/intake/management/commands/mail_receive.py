"""``devdesk mail-receive [--listen HOST:PORT] [--smtp]``: see
:mod:`devdesk.intake.mail.receiver`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from devdesk.intake.mail.receiver import parse_listen, serve


class Command(BaseCommand):
    help = (
        "Receive mail from a mail server over LMTP (or SMTP with --smtp): answers 250 "
        "once a message is stored, 451 when it cannot be, so the mail server tries "
        "again. Stops cleanly on SIGTERM."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--listen",
            metavar="HOST:PORT",
            help="Where to listen (default: MAIL_RECEIVE_LISTEN, "
            f"{settings.MAIL_RECEIVE_LISTEN})",
        )
        parser.add_argument(
            "--smtp",
            action="store_true",
            help="Speak SMTP instead of LMTP (for a mail server without LMTP)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        listen = options["listen"] or settings.MAIL_RECEIVE_LISTEN
        try:
            host, port = parse_listen(listen)
        except ValueError as exc:
            raise CommandError(f"--listen: {exc}") from exc
        try:
            serve(host, port, smtp=options["smtp"])
        except OSError as exc:
            raise CommandError(f"Cannot listen on {listen}: {exc}") from exc
