"""``devdesk mail-import``: .eml files, mbox files and Maildirs through the same
store-then-process path as the receiver, for a team moving from another desk and
for replaying mail."""

from __future__ import annotations

import mailbox as stdlib_mailbox
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devdesk.intake.mail.services import receive
from devdesk.intake.models import InboundEmail, Mailbox

Outcome = InboundEmail.Outcome
# Summary keys, in the order they are printed; together they add up to "read".
COUNT_KEYS = {
    Outcome.TICKET: "tickets_created",
    Outcome.REPLY: "added_to_tickets",
    Outcome.SUPPRESSED: "suppressed",
    Outcome.DUPLICATE: "duplicates",
    Outcome.QUARANTINED: "quarantined",
    Outcome.REFUSED: "refused",
    Outcome.RECEIVED: "pending",
}


@dataclass(frozen=True)
class Source:
    """One message to import: where it came from, and its bytes."""

    path: str
    index: int | None  # its position in an mbox
    raw: bytes


@dataclass
class ImportResult:
    messages: list[dict[str, Any]] = field(default_factory=list)

    def add(self, source: Source, inbound: InboundEmail) -> None:
        self.messages.append(
            {
                "path": source.path,
                "index": source.index,
                "outcome": inbound.outcome,
                "ticket": inbound.ticket.number if inbound.ticket else None,
                "reason": inbound.reason,
            }
        )

    def counts(self) -> dict[str, int]:
        outcomes = Counter(m["outcome"] for m in self.messages)
        return {"read": len(self.messages)} | {
            key: outcomes[outcome] for outcome, key in COUNT_KEYS.items()
        }

    def as_json(self) -> dict[str, Any]:
        return self.counts() | {"messages": self.messages}


def import_paths(paths: list[Path], *, mailbox: Mailbox | None = None) -> ImportResult:
    result = ImportResult()
    for source in sources(paths):
        inbound = receive(
            source.raw, source=InboundEmail.Source.IMPORT, mailbox=mailbox
        )
        result.add(source, inbound)
    return result


def sources(paths: list[Path]) -> Iterator[Source]:
    """Every message under the paths: a Maildir's messages, an mbox's messages, a
    single message file, or every file in a folder (in name order)."""
    for path in paths:
        if path.is_dir() and (path / "cur").is_dir() and (path / "new").is_dir():
            yield from _maildir(path)
        elif path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                yield from _file(child)
        else:
            yield from _file(path)


def _maildir(path: Path) -> Iterator[Source]:
    """A Maildir's messages are its files in new/ and cur/ (tmp/ is unfinished)."""
    for subdir in ("new", "cur"):
        for message in sorted(p for p in (path / subdir).iterdir() if p.is_file()):
            yield Source(str(message), None, message.read_bytes())


def _file(path: Path) -> Iterator[Source]:
    """An .eml file is one message, even when it starts with an mbox "From " line;
    another file starting with one is an mbox."""
    with path.open("rb") as handle:
        head = handle.read(5)
    if head == b"From " and path.suffix.lower() != ".eml":
        box = stdlib_mailbox.mbox(path, factory=None, create=False)
        for index, key in enumerate(box.keys()):
            yield Source(str(path), index, box.get_bytes(key))
        return
    yield Source(str(path), None, path.read_bytes())
