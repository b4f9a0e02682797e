"""The ticket token in a subject line, ``[#1234]``: written into every e-mail the
desk sends, read back from replies whose threading headers were lost."""

from __future__ import annotations

import re

TOKEN_RE = re.compile(r"\[#(\d{1,12})\]")


def ticket_token(number: int) -> str:
    return f"[#{number}]"


def ticket_number_in(subject: str) -> int | None:
    match = TOKEN_RE.search(subject)
    return int(match.group(1)) if match else None
