"""An e-mail backend for tests that run devdesk in other processes.

Each message becomes one ``.eml`` file in ``$DEVDESK_TEST_OUTBOX/mail`` (written under
a temporary name, then renamed, so a reader never sees half a message). Django's
filebased backend appends a connection's messages to one file instead.

While a file named ``hold`` exists in the outbox, a sender first writes
``sending.<pid>`` (holding the message it is about to send) and waits: a test can
catch a worker in the middle of a task and kill it there.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

HOLD_AT_MOST_SECONDS = 60


def outbox_dir() -> Path:
    return Path(os.environ["DEVDESK_TEST_OUTBOX"])


class EmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        outbox = outbox_dir()
        mail = outbox / "mail"
        mail.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            raw = message.message().as_bytes()
            self._wait_while_held(outbox, raw)
            name = uuid.uuid4().hex
            temporary = mail / f".{name}.tmp"
            temporary.write_bytes(raw)
            temporary.rename(mail / f"{name}.eml")
        return len(email_messages)

    @staticmethod
    def _wait_while_held(outbox: Path, raw: bytes) -> None:
        hold = outbox / "hold"
        if not hold.exists():
            return
        (outbox / f"sending.{os.getpid()}").write_bytes(raw)
        deadline = time.monotonic() + HOLD_AT_MOST_SECONDS
        while hold.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
