"""``devdesk mail-import PATH... [--json]``: see :mod:`devdesk.intake.mail.importer`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from devdesk.intake.mail.importer import COUNT_KEYS, import_paths
from devdesk.intake.models import Mailbox


class Command(BaseCommand):
    help = "Import .eml files, mbox files or Maildirs as tickets and replies."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
        parser.add_argument(
            "--mailbox",
            help="The support address the mail was sent to (default: the default mailbox)",
        )
        parser.add_argument(
            "--json", action="store_true", help="Print the result as one JSON object"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        paths: list[Path] = options["paths"]
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise CommandError(f"No such file or folder: {', '.join(missing)}")
        mailbox = None
        if options["mailbox"]:
            mailbox = Mailbox.objects.filter(address=options["mailbox"].lower()).first()
            if mailbox is None:
                raise CommandError(f"No mailbox {options['mailbox']}; add it first.")
        result = import_paths(paths, mailbox=mailbox)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json(), indent=2))
            return
        counts = result.counts()
        self.stdout.write(f"{counts['read']} messages read")
        for key in COUNT_KEYS.values():
            if counts[key]:
                self.stdout.write(f"  {key.replace('_', ' ')}: {counts[key]}")
        for message in result.messages:
            if message["reason"] and message["outcome"] in {"quarantined", "refused"}:
                where = message["path"] + (
                    f" #{message['index']}" if message["index"] is not None else ""
                )
                self.stdout.write(
                    f"  {message['outcome']}: {where}: {message['reason']}"
                )
