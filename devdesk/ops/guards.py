"""Checks shared by the commands that fill a database with made-up people."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError


def refuse_on_real_installation(*, force: bool, why: str) -> None:
    """Stop unless DEBUG is on or ``--force`` was given: ``why`` says what is public
    (passwords, tokens) about the data the command would write."""
    if not settings.DEBUG and not force:
        raise CommandError(
            f"DEBUG is off, so this looks like a real installation. {why}; add "
            "--force if you really want them here."
        )
