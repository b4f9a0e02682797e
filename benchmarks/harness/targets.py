"""The two applications under test: devdesk and the django-helpdesk peer.

Each target seeds a database of a given size, starts gunicorn the way it runs in
production (DEBUG off, the same number of workers), signs its users in, and names
its workloads as lists of requests. Workloads with the same name on both sides are
the ones compared (see ``report.COMPARISONS``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.harness.load import Request
from benchmarks.harness.procs import Gunicorn, Process
from benchmarks.harness.web import cookie_header, get_json, sign_in

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "benchmarks" / ".work"
PEER_DIR = ROOT / "benchmarks" / "peers" / "django-helpdesk"
PG_SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
SECRET = "benchmark-only-secret-key-not-for-real-installations-0123456789"


@dataclass(frozen=True)
class Database:
    """Where one application's data of one size lives."""

    vendor: str  # "postgresql" or "sqlite"
    app: str
    size: int

    @property
    def name(self) -> str:
        return f"bench_{self.app.replace('-', '_')}_{self.size}"

    @property
    def sqlite_dir(self) -> Path:
        return WORK / "sqlite" / self.name

    def url(self) -> str:
        if self.vendor == "postgresql":
            return f"{PG_SERVER}/{self.name}"
        return f"sqlite:///{self.sqlite_dir / 'db.sqlite3'}"

    def recreate(self) -> None:
        if self.vendor == "postgresql":
            import psycopg

            with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{self.name}"')
        else:
            for file in self.sqlite_dir.glob("*"):
                if file.is_file():
                    file.unlink()
            self.sqlite_dir.mkdir(parents=True, exist_ok=True)

    def settle(self) -> None:
        """After a bulk load: what autovacuum would do on a production server (it
        may be off on a test server), so index-only scans and the planner see the
        loaded rows as a long-running desk would. Both applications get it."""
        if self.vendor == "postgresql":
            import psycopg

            with psycopg.connect(self.url(), autocommit=True) as conn:
                conn.execute("VACUUM (ANALYZE)")
        else:
            import sqlite3

            for file in self.sqlite_dir.glob("*.sqlite3"):
                with sqlite3.connect(file) as conn:
                    conn.execute("ANALYZE")

    def drop(self) -> None:
        if self.vendor == "postgresql":
            import psycopg

            with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class SeedState:
    """Which benchmark databases the harness seeded, so ``--reuse`` skips them."""

    path = WORK / "seeded.json"

    @classmethod
    def load(cls) -> dict[str, Any]:
        try:
            return dict(json.loads(cls.path.read_text()))
        except (OSError, ValueError):
            return {}

    @classmethod
    def has(cls, db: Database) -> bool:
        return cls.load().get(f"{db.vendor}:{db.name}") == db.size

    @classmethod
    def mark(cls, db: Database, seeded: bool) -> None:
        state = cls.load()
        key = f"{db.vendor}:{db.name}"
        if seeded:
            state[key] = db.size
        else:
            state.pop(key, None)
        cls.path.parent.mkdir(parents=True, exist_ok=True)
        cls.path.write_text(json.dumps(state, indent=1, sort_keys=True))


def _run(argv: list[str], env: Mapping[str, str], log: Path) -> str:
    """Run a command to completion; its output goes to ``log`` and is returned."""
    log.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(  # noqa: S603 - our own commands
        argv, env=dict(env), cwd=ROOT, capture_output=True, text=True, check=False
    )
    with log.open("a") as out:
        out.write(f"$ {' '.join(argv)}\n{done.stdout}{done.stderr}\n")
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-3000:]}"
        )
    return done.stdout


def _form(fields: Mapping[str, str]) -> str:
    # Keep "{uid}" readable for wrk.lua's substitution.
    return urllib.parse.urlencode(fields).replace("%7Buid%7D", "{uid}")


class Target:
    """What both applications share: seeding once (``prepare``) and serving with
    gunicorn (``start``). Subclasses say how to load their data (``load``), which
    command serves them (``serve_argv``) and with what environment (``env``)."""

    name = ""
    ready_path = "/"
    cwd = ROOT
    log_name = ""

    def __init__(self, db: Database, log_dir: Path) -> None:
        self.db = db
        self.log_dir = log_dir

    def env(self) -> dict[str, str]:
        raise NotImplementedError

    def load(self) -> None:
        raise NotImplementedError

    def migrate(self) -> None:
        """Bring a reused database up to the code's schema."""

    def serve_argv(self) -> list[str]:
        raise NotImplementedError

    def prepare(self, *, reuse: bool) -> float:
        """Seed (unless ``reuse`` finds it seeded); returns the seconds it took."""
        if reuse and SeedState.has(self.db):
            self.migrate()  # the code may have gained migrations since
            return 0.0
        started = time.monotonic()
        SeedState.mark(self.db, False)
        self.db.recreate()
        self.load()
        self.db.settle()
        SeedState.mark(self.db, True)
        return time.monotonic() - started

    def start(self, port: int, workers: int) -> Gunicorn:
        return Gunicorn(
            [*self.serve_argv(), "--port", str(port), "--workers", str(workers)],
            env=self.env(),
            cwd=self.cwd,
            log=self.log_dir
            / f"{self.log_name}-{self.db.vendor}-{self.db.size}-web.log",
            port=port,
            ready_path=self.ready_path,
            workers=workers,
        )

    def side_processes(self) -> dict[str, Process]:
        return {}


class Devdesk(Target):
    name = "devdesk"
    ready_path = "/healthz"
    log_name = "devdesk"

    def __init__(self, vendor: str, size: int, log_dir: Path) -> None:
        super().__init__(Database(vendor, "devdesk", size), log_dir)

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": SECRET,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SERVER_TIMING": "1",
            "API_RATE_PER_MINUTE": "0",
            "API_RATE_PER_MINUTE_PER_IP": "0",
            "SUBMISSIONS_PER_HOUR": "0",
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "DEVDESK_DATA_DIR": str(WORK / "devdesk-data" / self.db.vendor),
        }
        env.pop("DATABASE_URL", None)
        if self.db.vendor == "postgresql":
            env["DATABASE_URL"] = self.db.url()
        else:
            env["DEVDESK_DATA_DIR"] = str(self.db.sqlite_dir)
        return env

    def source_url(self) -> str:
        """The database URL the peer copies from."""
        if self.db.vendor == "postgresql":
            return self.db.url()
        return f"sqlite:///{self.db.sqlite_dir / 'devdesk.sqlite3'}"

    def devdesk(self, *args: str) -> str:
        return _run(
            [str(Path(sys.executable).with_name("devdesk")), *args],
            self.env(),
            self.log_dir / "devdesk-commands.log",
        )

    def migrate(self) -> None:
        self.devdesk("migrate", "--no-input", "-v0")

    def load(self) -> None:
        self.migrate()
        # Into an empty database seed-load builds the search index itself.
        self.devdesk("seed-load", "--tickets", str(self.db.size), "--force")

    def info(self) -> dict[str, Any]:
        return dict(json.loads(self.devdesk("bench-info", "--force")))

    def serve_argv(self) -> list[str]:
        return [str(Path(sys.executable).with_name("devdesk")), "serve"]

    def side_processes(self) -> dict[str, Process]:
        """The task worker: ticket creation queues notifications for it."""
        argv = [str(Path(sys.executable).with_name("devdesk")), "worker"]
        return {
            "task_worker": Process(
                argv,
                env=self.env(),
                cwd=ROOT,
                log=self.log_dir
                / f"devdesk-{self.db.vendor}-{self.db.size}-worker.log",
            )
        }

    def workloads(
        self, base_url: str, info: dict[str, Any], keyword: str, rare_keyword: str
    ) -> dict[str, list[Request]]:
        agent = sign_in(
            base_url,
            "/accounts/login/",
            username_field="username",
            username=info["agent"],
            password=info["password"],
        )
        customer = sign_in(
            base_url,
            "/accounts/login/",
            username_field="username",
            username=info["customer"],
            password=info["password"],
        )
        as_agent = {"Cookie": cookie_header(agent)}
        as_customer = {"Cookie": cookie_header(customer)}
        bearer = {"Authorization": f"Bearer {info['api_token']}"}
        product = str(info["product_id"] or "")
        q = urllib.parse.quote(keyword)

        def get(path: str, headers: dict[str, str]) -> Request:
            return Request("GET", path, headers)

        api_pages = [get("/api/tickets?limit=25", bearer)]
        cursor = get_json(base_url + "/api/tickets?limit=25", bearer)["next_cursor"]
        while cursor and len(api_pages) < 10:
            path = f"/api/tickets?limit=25&cursor={cursor}"
            api_pages.append(get(path, bearer))
            cursor = get_json(base_url + path, bearer)["next_cursor"]

        api_create = Request(
            "POST",
            "/api/tickets",
            {**bearer, "Content-Type": "application/json", "Idempotency-Key": "{uid}"},
            json.dumps(
                {
                    "subject": "Benchmark {uid}: webhook retries arrive twice",
                    "body": "Our endpoint answered 200 but the event came again.",
                    "requester": info["customer"],
                    **({"product": info["product_id"]} if info["product_id"] else {}),
                }
            ),
        )
        portal_create = Request(
            "POST",
            "/portal/tickets/new/",
            {
                **as_customer,
                "Content-Type": "application/x-www-form-urlencoded",
                "X-CSRFToken": customer["csrftoken"],
            },
            _form(
                {
                    "subject": "Benchmark {uid}: SDK times out on upload",
                    "body": "Uploading a 20 MB file with the SDK times out after 30 s.",
                    "product": product,
                    "idempotency_key": "{uid}",
                    "csrfmiddlewaretoken": customer["csrftoken"],
                }
            ),
        )
        ticket = f"/desk/tickets/{info['long_ticket']}/"
        loads = {
            "inbox": [get("/desk/", as_agent)],
            "inbox_filtered": [
                get(f"/desk/?view=all&status=open&product={product}", as_agent)
            ],
            "inbox_priority": [get("/desk/?view=all&sort=priority", as_agent)],
            "inbox_deep": [
                get(f"/desk/?view=all&cursor={info['deep_cursor']}", as_agent)
            ],
            "ticket_page": [get(ticket, as_agent)],
            "portal_list": [get("/portal/", as_customer)],
            "search": [get(f"/desk/?view=all&q={q}", as_agent)],
            "search_rare": [
                get(f"/desk/?view=all&q={urllib.parse.quote(rare_keyword)}", as_agent)
            ],
            "api_list": api_pages,
            "api_create": [api_create],
            "portal_create": [portal_create],
        }
        # The mix: mostly reading, as on a real desk, with some writing.
        loads["mix"] = [
            *loads["inbox"] * 4,
            *loads["ticket_page"] * 4,
            *loads["inbox_filtered"],
            *loads["inbox_priority"],
            *loads["search"] * 2,
            *loads["portal_list"] * 2,
            *api_pages[:4],
            api_create,
            portal_create,
        ]
        return loads


class DjangoHelpdesk(Target):
    """The released django-helpdesk, set up by benchmarks/peers/django-helpdesk/peer."""

    name = "django-helpdesk"
    ready_path = "/login/"
    cwd = PEER_DIR
    log_name = "helpdesk"

    def __init__(self, vendor: str, size: int, log_dir: Path, source_url: str) -> None:
        super().__init__(Database(vendor, "helpdesk", size), log_dir)
        self.source_url = source_url

    def env(self) -> dict[str, str]:
        env = {**os.environ, "DATABASE_URL": self.db.url(), "SERVER_TIMING": "1"}
        if self.db.vendor == "sqlite":
            self.db.sqlite_dir.mkdir(parents=True, exist_ok=True)
        return env

    def peer(self, *args: str) -> str:
        return _run(
            [str(PEER_DIR / "peer"), *args], self.env(), self.log_dir / "peer.log"
        )

    @staticmethod
    def setup(log_dir: Path) -> None:
        _run([str(PEER_DIR / "peer"), "setup"], os.environ, log_dir / "peer.log")

    def load(self) -> None:
        self.peer("migrate")
        self.peer("seed", "--from", self.source_url)

    def info(self, keyword: str, rare_keyword: str) -> dict[str, Any]:
        # Page 399 of 25 rows starts where devdesk's page 200 of 50 does.
        return dict(
            json.loads(
                self.peer(
                    "info",
                    "--keyword",
                    keyword,
                    "--rare-keyword",
                    rare_keyword,
                    "--deep-page",
                    "399",
                )
            )
        )

    def serve_argv(self) -> list[str]:
        return [str(PEER_DIR / "peer"), "serve"]

    def workloads(
        self, base_url: str, info: dict[str, Any], keyword: str, rare_keyword: str
    ) -> dict[str, list[Request]]:
        login = info["login"]
        cookies = sign_in(
            base_url,
            login["path"],
            username_field=login.get("username_field", "username"),
            username=login["username"],
            password=login["password"],
        )
        headers = {"Cookie": cookie_header(cookies)}
        loads: dict[str, list[Request]] = {}
        for name, requests in info["workloads"].items():
            loads[name] = []
            for r in requests:
                if r["method"] == "GET":
                    loads[name].append(Request("GET", r["path"], headers))
                    continue
                form = {
                    **r.get("form", {}),
                    "csrfmiddlewaretoken": cookies["csrftoken"],
                }
                loads[name].append(
                    Request(
                        "POST",
                        r["path"],
                        {
                            **headers,
                            "Content-Type": "application/x-www-form-urlencoded",
                            "Referer": base_url + r["path"],
                        },
                        _form(form),
                    )
                )
        return loads
