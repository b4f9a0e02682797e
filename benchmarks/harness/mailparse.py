"""The parser alone, in a devdesk process without a database: reads a JSON list of
messages and prints the seconds it took to parse, classify and cut quoted history
from each (``python -m benchmarks.harness.mailparse FILE``)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import django


def main(path: str) -> None:
    django.setup()
    from devdesk.intake.mail.classify import classify
    from devdesk.intake.mail.parse import parse
    from devdesk.intake.mail.pipeline import reply_text

    messages = [m.encode() for m in json.loads(Path(path).read_text())]
    started = time.perf_counter()
    for raw in messages:
        mail = parse(raw)
        classify(mail)
        reply_text(mail.text)
    sys.stdout.write(f"{time.perf_counter() - started:.4f}\n")


if __name__ == "__main__":
    main(sys.argv[1])
