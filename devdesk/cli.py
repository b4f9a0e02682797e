"""The ``devdesk`` command: Django's management commands with short names.

devdesk serve        run the web server (PORT, default 8000)
devdesk migrate      create or update the database
devdesk demo         load the demo desk (idempotent)
devdesk seed-load    write a large desk fast, for benchmarks
devdesk worker       run background tasks (database queue or RQ, by TASKS_BACKEND)
devdesk scheduler    queue periodic tasks for the workers (run exactly one)
devdesk <command>    any other management command (hyphens or underscores)
"""

from __future__ import annotations

import os
import sys

ALIASES = {
    "demo": "load_demo",
    "seed-load": "seed_load",
}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "devdesk.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else argv)
    if len(args) > 1:
        # Commands are spelt with hyphens (seed-load, bench-info); Django's own
        # names use underscores.
        args[1] = ALIASES.get(args[1], args[1].replace("-", "_"))
    execute_from_command_line(["devdesk", *args[1:]])


if __name__ == "__main__":
    main()
