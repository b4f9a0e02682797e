"""Domain errors with stable codes that views and the API turn into clear 4xx answers."""

from __future__ import annotations


class TicketError(Exception):
    """A business rule said no. ``code`` is stable; ``message`` is for people."""

    def __init__(self, code: str, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
