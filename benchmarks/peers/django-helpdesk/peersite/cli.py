"""``peer seed``, ``peer info`` and ``peer check``: the Python half of ``peer``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import django


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="peer")
    commands = parser.add_subparsers(dest="command", required=True)
    seed = commands.add_parser(
        "seed", help="copy a devdesk database into this peer's database"
    )
    seed.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="SOURCE_DATABASE_URL",
        help="the devdesk database to copy (read only)",
    )
    seed.add_argument(
        "--batch-size", type=int, default=2000, help="tickets per batch (2000)"
    )
    seed.add_argument(
        "--progress-every",
        type=int,
        default=10_000,
        help="print progress every N tickets (10000)",
    )
    info = commands.add_parser(
        "info", help="print the login and workload requests as JSON"
    )
    check = commands.add_parser(
        "check", help="sign in to a running peer and send every workload once"
    )
    check.add_argument("--url", required=True, help="e.g. http://127.0.0.1:8000")
    for command in (info, check):
        command.add_argument(
            "--keyword",
            help="search word (default: the 6+ letter word in the most ticket titles)",
        )
        command.add_argument(
            "--rare-keyword",
            help="a second search word, matching few tickets (search_rare_*)",
        )
        command.add_argument(
            "--deep-page",
            type=int,
            default=200,
            help="page (25 rows) of the all-statuses list for deep_rows (200)",
        )
    mail_import = commands.add_parser(
        "mail-import", help="feed message files to django-helpdesk's e-mail intake"
    )
    mail_import.add_argument("files", nargs="+", type=Path, metavar="FILE")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peersite.settings")
    django.setup()
    if args.command == "seed":
        return _seed(args)
    if args.command == "mail-import":
        from peersite.mailimport import import_files

        sys.stdout.write(json.dumps(import_files(args.files)) + "\n")
        return 0
    return _info(args)


def _build_info(args: argparse.Namespace) -> dict[str, Any] | None:
    from peersite.workloads import build_info

    try:
        return build_info(
            keyword=args.keyword,
            rare_keyword=args.rare_keyword,
            deep_page=args.deep_page,
        )
    except LookupError as exc:
        sys.stderr.write(f"peer {args.command}: {exc}\n")
        return None


def _seed(args: argparse.Namespace) -> int:
    from peersite.seeding import SeedError, seed
    from peersite.source import Source

    source = Source(args.source)
    try:
        seed(
            source,
            batch_size=args.batch_size,
            progress_every=args.progress_every,
            out=sys.stdout,
        )
    except SeedError as exc:
        sys.stderr.write(f"peer seed: {exc}\n")
        return 1
    finally:
        source.close()
    return 0


def _info(args: argparse.Namespace) -> int:
    info = _build_info(args)
    if info is None:
        return 1
    if args.command == "check":
        from peersite.check import check

        return 0 if check(args.url.rstrip("/"), info, sys.stdout) else 1
    sys.stdout.write(json.dumps(info) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
