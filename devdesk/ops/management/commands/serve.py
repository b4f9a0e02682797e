"""``devdesk serve``: the web server. Django's development server while DEBUG is on
(the default), gunicorn when it is off."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser


def env_port(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise CommandError(f"{name} must be a port number (1-65535), not {raw!r}.")
    return int(raw)


def env_workers() -> int:
    raw = os.environ.get("WEB_CONCURRENCY", "").strip() or "2"
    if not raw.isdigit() or int(raw) < 1:
        raise CommandError(
            f"WEB_CONCURRENCY must be a whole number of at least 1, not {raw!r}."
        )
    return int(raw)


class Command(BaseCommand):
    help = (
        "Run the web server on HOST:PORT (default 127.0.0.1:8000). With DEBUG on, "
        "Django's development server; with DEBUG off, gunicorn after collectstatic."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host",
            default=os.environ.get("HOST", "").strip() or "127.0.0.1",
            help="Address to listen on (HOST, default 127.0.0.1; 0.0.0.0 for every interface).",
        )
        parser.add_argument(
            "--port",
            type=int,
            default=None,
            help="Port to listen on (PORT, default 8000).",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="gunicorn worker processes with DEBUG off (WEB_CONCURRENCY, default 2).",
        )
        parser.add_argument(
            "--reload",
            action="store_true",
            help="Restart the development server when code changes (DEBUG only).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host: str = options["host"]
        port: int = options["port"] or env_port("PORT", 8000)
        if not 0 < port < 65536:
            raise CommandError(f"--port must be 1-65535, not {port}.")
        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if settings.DEBUG:
            # whitenoise.runserver_nostatic hands static files to WhiteNoise, which
            # finds them in the apps directly while DEBUG is on.
            call_command("runserver", bind, use_reloader=options["reload"])
            return
        workers = options["workers"] or env_workers()
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"Serving on http://{bind} with gunicorn ({workers} workers)")
        self.stdout.flush()
        argv = [
            sys.executable, "-m", "gunicorn", "devdesk.wsgi:application",
            "--bind", bind, "--workers", str(workers),
            "--access-logfile", "-", "--forwarded-allow-ips", "127.0.0.1",
            # gunicorn's control socket lives at one path per user, so two web
            # processes on a host would answer each other's `gunicornc` commands.
            "--no-control-socket",
        ]  # fmt: skip
        # exec, not a child process: gunicorn gets the signals (SIGTERM from systemd or
        # docker) directly and stops its workers gracefully.
        os.execv(sys.executable, argv)  # noqa: S606 - fixed argv, no shell involved
