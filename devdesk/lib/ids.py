"""Numbers people type or send as ids (``?ticket=12``, ``#1042``, a person's id)."""

from __future__ import annotations

# PostgreSQL's integer columns (ticket numbers) and bigint keys.
INTEGER_MAX = 2**31
BIGINT_MAX = 2**63


def as_id(text: str, *, below: int = BIGINT_MAX) -> int | None:
    """``text`` as a positive whole number under ``below``, or ``None``.

    ``str.isdigit()`` alone accepts "²", which ``int()`` refuses, hence ``isascii``.
    """
    if text.isascii() and text.isdigit() and 0 < int(text) < below:
        return int(text)
    return None
