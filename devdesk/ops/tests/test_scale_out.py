"""Scale-out: two web processes and two RQ workers on PostgreSQL and Redis lose and
double nothing while one of each is killed (SIGKILL) and restarted mid-run.

The processes are real: gunicorn serving ``devdesk.wsgi`` (as ``devdesk serve`` runs
it with DEBUG off; static files are collected once first) and ``devdesk worker``
with ``TASKS_BACKEND=django_tasks_rq.RQBackend``, all on the pytest-django test
database (committed: ``transactional_db``) and on a Redis database this test claims
for itself. Clients spread requests over both web processes like a load balancer and
move to the other one when a request fails:

- agents open tickets through the API, each logical request retried with the same
  ``Idempotency-Key`` after a connection error or a 5xx, and every fourth one sent
  again after its answer (a retry whose first answer was lost);
- a signed-in customer opens tickets through the portal form (CSRF token and the
  form's idempotency key resent on retry; every fifth form submitted twice);
- agents reply through the API (retried only when the connection was refused, since
  replies carry no idempotency key), each reply mailing the customer.

About a third of the way in, one web process is killed and restarted, and
``devdesk scheduler --once`` queues every unsent notification a second time while the
first tasks are still queued or running. Halfway, mail sending is held (see
``outbox.py``) until the first worker is in the middle of a notification task, and
that worker is killed there and restarted. After the load, that message alone is
unnotified, until ``devdesk scheduler --once`` queues it again.

Then: every accepted request made exactly one ticket or message, retries answered
with the same ticket, no ticket is doubled, every message's notification ran (its
``notified_at`` is set), and the outbox has exactly one mail per reply.

PostgreSQL only (SQLite is one host, one process writing), and it needs Redis on
127.0.0.1:6379. Bounded: about 250 requests, a timeout on every wait.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from devdesk.accounts.models import Organization, User
from devdesk.accounts.services import create_api_token
from devdesk.accounts.tests.factories import OrganizationFactory, UserFactory
from devdesk.intake.models import IdempotencyKey
from devdesk.tests.processes import database_url, free_port, wait_until
from devdesk.tickets.models import Message, Ticket
from devdesk.tickets.tests.factories import make_ticket

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_CLAIM = "devdesk:test-scale-out:claimed"
CUSTOMER_EMAIL = "carla@scale.test"
CUSTOMER_PASSWORD = "scale-out-customer-password"
API_TICKETS = 100
PORTAL_TICKETS = 30
REPLIES = 50
CLIENT_THREADS = 6
LOAD_SECONDS = 180  # the load phase must end by then
START_SECONDS = 60  # a process must be ready by then
SETTLE_SECONDS = 90  # the workers must have finished by then
REQUEST_SECONDS = 15
ATTEMPTS = 10

pytestmark = pytest.mark.django_db(transaction=True)


# --- processes -----------------------------------------------------------------


def parent_of(pid: int) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        # /proc/PID/stat: "pid (command) state ppid ..."; the command may hold spaces
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    return None


def command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (parent := parent_of(int(entry.name))):
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Process:
    """One devdesk process in a session of its own. A kill takes its descendants
    with it, as a crashed host or container would: gunicorn's workers, and an RQ
    worker's work horse (which RQ puts in a process group of its own)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], logs: Path):
        self.name, self.argv, self.env, self.logs = name, argv, env, logs
        self.popen: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def start(self) -> None:
        self.starts += 1
        log = (self.logs / f"{self.name}.{self.starts}.log").open("wb")
        self.popen = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            self.argv,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def family(self) -> dict[int, bytes]:
        """The process and its descendants, each with its command line."""
        pids = [self.pid, *descendants(self.pid)] if self.alive() else []
        return {pid: command_line(pid) for pid in pids}

    def kill(self, family: dict[int, bytes] | None = None) -> None:
        """SIGKILL to the process and all its descendants: no clean-up runs.

        ``family`` (from before a stop) adds children that outlived their parent;
        each is killed only while it still runs the same command, so a reused
        process id is never hit."""
        if self.popen is None:
            return
        for pid, command in {**(family or {}), **self.family()}.items():
            if command and command_line(pid) == command:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM (gunicorn and RQ finish what they are doing), SIGKILL after 15 s."""
        if self.popen is None:
            return
        family = self.family()
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=15)
        self.kill(family)

    def tail(self) -> str:
        log = self.logs / f"{self.name}.{self.starts}.log"
        return f"--- {log.name}\n" + log.read_text(errors="replace")[-3000:]


def devdesk(*args: str) -> list[str]:
    return [sys.executable, "-m", "devdesk.cli", *args]


@contextlib.contextmanager
def claimed_redis_db() -> Iterator[int]:
    """A Redis database nobody else uses, emptied when the test ends."""
    token = uuid.uuid4().hex
    for db in range(1, 16):
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db)
        if client.set(REDIS_CLAIM, token, nx=True, ex=900):
            if client.dbsize() == 1:
                try:
                    yield db
                finally:
                    client.flushdb()
                return
            client.delete(REDIS_CLAIM)
    pytest.fail("no free Redis database (1-15) for the scale-out test")


# --- clients -------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str  # "api", "portal" or "reply"
    marker: str  # unique text in the subject or body
    statuses: list[int] = field(default_factory=list)
    sends: int = 1  # 2: sent again after its answer, like a retry of a lost answer
    numbers: list[int] = field(default_factory=list)  # ticket numbers answered
    accepted: bool = False
    ambiguous: bool = False  # a reply that may have arrived without an answer


class Balancer:
    """Round robin over the web processes; a failed attempt moves to the next one."""

    def __init__(self, ports: list[int]):
        self.ports = ports
        self.turn = 0
        self.lock = threading.Lock()
        self.transport_errors = 0

    def next_base(self) -> str:
        with self.lock:
            self.turn += 1
            return f"http://127.0.0.1:{self.ports[self.turn % len(self.ports)]}"

    def send(
        self,
        client: httpx.Client,
        method: str,
        path: str,
        *,
        idempotent: bool,
        **kwargs: Any,
    ) -> tuple[httpx.Response | None, bool]:
        """(response, ambiguous): retried after refused connections, and after any
        transport error or 5xx when ``idempotent``."""
        for attempt in range(ATTEMPTS):
            try:
                response = client.request(method, self.next_base() + path, **kwargs)
            except httpx.ConnectError:
                self.count_error()
            except httpx.TransportError:
                self.count_error()
                if not idempotent:
                    return None, True
            else:
                if response.status_code < 500:
                    return response, False
                if not idempotent:
                    return response, True
            time.sleep(min(1.0, 0.05 * 2**attempt))
        return None, not idempotent

    def count_error(self) -> None:
        with self.lock:
            self.transport_errors += 1


def http_client(cookies: httpx.Cookies | None = None) -> httpx.Client:
    # Connection: close, so a killed server never leaves a pooled connection behind
    # that fails the next request on it.
    return httpx.Client(
        timeout=REQUEST_SECONDS, headers={"Connection": "close"}, cookies=cookies
    )


FORM_FIELD = r'name="{}"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="{}"'


def form_value(page: str, name: str) -> str:
    match = re.search(FORM_FIELD.format(name, name), page)
    assert match, f"no {name} in the form"
    return match.group(1) or match.group(2)


@dataclass
class Desk:
    balancer: Balancer
    token: str
    session: httpx.Cookies
    reply_to: list[int]
    outcomes: list[Outcome] = field(default_factory=list)

    def api_ticket(self, index: int) -> Outcome:
        outcome = Outcome(
            "api",
            f"api-{index}-{uuid.uuid4().hex[:8]}",
            sends=2 if index % 4 == 0 else 1,
        )
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Idempotency-Key": f"scale-{uuid.uuid4()}",
        }
        payload = {
            "subject": f"Scale {outcome.marker}",
            "body": "Webhook deliveries stopped after the deploy.",
            "requester": CUSTOMER_EMAIL,
        }
        with http_client() as client:
            for _ in range(outcome.sends):
                response, _ = self.balancer.send(
                    client,
                    "POST",
                    "/api/tickets",
                    idempotent=True,
                    json=payload,
                    headers=headers,
                )
                if response is None:
                    break
                outcome.statuses.append(response.status_code)
                if response.status_code in {200, 201}:
                    outcome.accepted = True
                    outcome.numbers.append(response.json()["number"])
        return self.record(outcome)

    def portal_ticket(self, index: int) -> Outcome:
        outcome = Outcome(
            "portal",
            f"portal-{index}-{uuid.uuid4().hex[:8]}",
            sends=2 if index % 5 == 0 else 1,
        )
        with http_client(cookies=self.session) as client:
            page, _ = self.balancer.send(
                client, "GET", "/portal/tickets/new/", idempotent=True
            )
            assert page is not None
            assert page.status_code == 200, page
            form = {
                "csrfmiddlewaretoken": form_value(page.text, "csrfmiddlewaretoken"),
                "idempotency_key": form_value(page.text, "idempotency_key"),
                "subject": f"Scale {outcome.marker}",
                "body": "The CLI hangs on login.",
                "product": "",
            }
            for _ in range(outcome.sends):  # twice: a double-submitted form
                response, _ = self.balancer.send(
                    client, "POST", "/portal/tickets/new/", idempotent=True, data=form
                )
                if response is None:
                    break
                outcome.statuses.append(response.status_code)
                landed = re.fullmatch(
                    r"/portal/tickets/(\d+)/", response.headers.get("Location", "")
                )
                if response.status_code == 302 and landed:
                    outcome.accepted = True
                    outcome.numbers.append(int(landed.group(1)))
        return self.record(outcome)

    def reply(self, index: int) -> Outcome:
        outcome = Outcome("reply", f"reply-{index}-{uuid.uuid4().hex[:8]}")
        number = self.reply_to[index % len(self.reply_to)]
        with http_client() as client:
            response, outcome.ambiguous = self.balancer.send(
                client,
                "POST",
                f"/api/tickets/{number}/messages",
                idempotent=False,
                json={"body": f"Here is the fix ({outcome.marker})."},
                headers={"Authorization": f"Bearer {self.token}"},
            )
        if response is not None:
            outcome.statuses.append(response.status_code)
            outcome.accepted = response.status_code == 201
        return self.record(outcome)

    def record(self, outcome: Outcome) -> Outcome:
        self.outcomes.append(outcome)
        return outcome


def sign_in(balancer: Balancer) -> httpx.Cookies:
    with http_client() as client:
        page, _ = balancer.send(client, "GET", "/accounts/login/", idempotent=True)
        assert page is not None
        assert page.status_code == 200
        response, _ = balancer.send(
            client,
            "POST",
            "/accounts/login/",
            idempotent=True,
            data={
                "csrfmiddlewaretoken": form_value(page.text, "csrfmiddlewaretoken"),
                "username": CUSTOMER_EMAIL,
                "password": CUSTOMER_PASSWORD,
            },
        )
        assert response is not None
        assert response.status_code == 302, response
        session = httpx.Cookies()
        session.set("sessionid", client.cookies["sessionid"])
        return session


# --- mail ----------------------------------------------------------------------


def mails(outbox: Path) -> list[Any]:
    return [
        message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted((outbox / "mail").glob("*.eml"))
    ]


def marker_in(text: str) -> str | None:
    match = re.search(r"\((reply-\d+-[0-9a-f]{8})\)", text)
    return match.group(1) if match else None


def held_by(outbox: Path, worker: int) -> str | None:
    """The reply marker of the mail that a work horse of ``worker`` is holding."""
    for path in outbox.glob("sending.*"):
        if path.suffix[1:].isdigit() and parent_of(int(path.suffix[1:])) == worker:
            body = message_from_bytes(path.read_bytes(), policy=policy.default)
            return marker_in(body.get_body().get_content())
    return None


# --- the test ------------------------------------------------------------------


@pytest.fixture
def scale_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    if connection.vendor != "postgresql":
        pytest.skip("the scale-out test runs on PostgreSQL (DATABASE_URL=postgres://…)")
    try:
        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(
            f"the scale-out test needs Redis on {REDIS_HOST}:{REDIS_PORT}: {exc}"
        )
    with claimed_redis_db() as db:
        (tmp_path / "outbox").mkdir()
        (tmp_path / "logs").mkdir()
        yield {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "devdesk.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(40),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": "http://127.0.0.1",
            "DATABASE_URL": database_url(),
            "DEVDESK_DATA_DIR": str(tmp_path / "data"),
            "MEDIA_ROOT": str(tmp_path / "media"),
            "TASKS_BACKEND": "django_tasks_rq.RQBackend",
            "TASKS_REDIS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}",
            "EMAIL_BACKEND": "devdesk.ops.tests.outbox.EmailBackend",
            "DEVDESK_TEST_OUTBOX": str(tmp_path / "outbox"),
            "SUBMISSIONS_PER_HOUR": "0",
            # Each request is to open a ticket of its own: one customer's many
            # requests in a few minutes would otherwise fold into one (a burst).
            "COOLDOWN_BURST_MINUTES": "0",
            "API_RATE_PER_MINUTE": "0",
            "API_RATE_PER_MINUTE_PER_IP": "0",
            "NOTIFICATION_RETRY_SECONDS": "0",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }


def make_desk_data() -> tuple[str, list[int]]:
    """An agent with an API token, a customer who signs in, tickets to reply to."""
    vendor = OrganizationFactory(
        name="Scale Vendor", slug="scale-vendor", kind=Organization.Kind.VENDOR
    )
    agent = UserFactory(
        email="agent@vendor.test", role=User.Role.AGENT, organization=vendor
    )
    customer = UserFactory(
        email=CUSTOMER_EMAIL,
        role=User.Role.CUSTOMER,
        organization=OrganizationFactory(
            name="Scale Customer", slug="scale-customer", domains="scale.test"
        ),
    )
    # The processes use the real hashers, not the tests' cheap one.
    customer.password = PBKDF2PasswordHasher().encode(
        CUSTOMER_PASSWORD, PBKDF2PasswordHasher().salt()
    )
    customer.save(update_fields=["password"])
    _, token = create_api_token(agent, name="scale-out")
    targets = [make_ticket(customer, subject=f"Reply target {i}") for i in range(5)]
    return token, [t.number for t in targets]


@pytest.fixture
def _quiet_httpx() -> Iterator[None]:
    """No log line per request in a failure's report."""
    logger = logging.getLogger("httpx")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


@pytest.mark.usefixtures("_quiet_httpx")
def test_killed_web_and_worker_processes_lose_and_double_nothing(scale_env, tmp_path):
    # given: the desk's data, committed, then two web processes and two workers
    token, reply_to = make_desk_data()
    tickets_before = Ticket.objects.count()
    outbox, logs = Path(scale_env["DEVDESK_TEST_OUTBOX"]), tmp_path / "logs"
    subprocess.run(  # noqa: S603
        devdesk("collectstatic", "--no-input", "-v0"),
        env=scale_env,
        check=True,
        timeout=120,
    )
    ports = [free_port(), free_port()]
    webs = [
        Process(
            f"web{i}",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "devdesk.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--no-control-socket",
            ],
            scale_env,
            logs,
        )
        for i, port in enumerate(ports)
    ]
    workers = [
        Process(f"worker{i}", devdesk("worker"), scale_env, logs) for i in (0, 1)
    ]
    rq = redis.Redis.from_url(scale_env["TASKS_REDIS_URL"])
    processes = [*webs, *workers]

    def web_ready(port: int) -> Callable[[], bool]:
        def ready() -> bool:
            with contextlib.suppress(httpx.TransportError):
                return httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
            return False

        return ready

    def worker_ready(worker: Process) -> Callable[[], bool]:
        from rq import Worker

        return lambda: any(w.pid == worker.pid for w in Worker.all(connection=rq))

    def wait_ready(process: Process) -> None:
        if process in webs:
            ready = web_ready(ports[webs.index(process)])
        else:
            ready = worker_ready(process)
        wait_until(ready, START_SECONDS, f"{process.name} to start")

    def restart(process: Process) -> None:
        process.start()
        wait_ready(process)

    def run_scheduler_once() -> None:
        """``devdesk scheduler --once``: with NOTIFICATION_RETRY_SECONDS=0 it queues
        the notification of every message not yet notified."""
        scheduler = subprocess.run(  # noqa: S603
            devdesk("scheduler", "--once"),
            env=scale_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert scheduler.returncode == 0, scheduler.stderr

    def unsent() -> set[str]:
        bodies = Message.objects.filter(notified_at__isnull=True).values_list(
            "body", flat=True
        )
        return {marker_in(body) or body for body in bodies}

    try:
        for process in processes:  # all four start side by side
            process.start()
        for process in processes:
            wait_ready(process)
        balancer = Balancer(ports)
        desk = Desk(balancer, token, sign_in(balancer), reply_to)
        jobs: list[Callable[[], Outcome]] = [
            *(lambda i=i: desk.api_ticket(i) for i in range(API_TICKETS)),
            *(lambda i=i: desk.portal_ticket(i) for i in range(PORTAL_TICKETS)),
            *(lambda i=i: desk.reply(i) for i in range(REPLIES)),
        ]
        random.Random(20240601).shuffle(jobs)  # noqa: S311 - an order, not a secret
        held: list[str] = []

        def done() -> int:
            return len(desk.outcomes)

        def chaos() -> None:
            # 1. a third of the way in, kill a web process and start it again
            wait_until(lambda: done() >= len(jobs) // 3, LOAD_SECONDS, "a third")
            webs[0].kill()
            restart(webs[0])
            # 2. queue every unsent notification again while the first tasks are
            #    queued or running: each message must still be mailed once
            run_scheduler_once()
            # 3. halfway, hold the mail until worker 0 is mid-task, and kill it there
            wait_until(lambda: done() >= len(jobs) // 2, LOAD_SECONDS, "halfway")
            (outbox / "hold").touch()
            extra = REPLIES
            deadline = time.monotonic() + START_SECONDS
            while not held_by(outbox, workers[0].pid):
                assert time.monotonic() < deadline, "worker 0 never sent mail"
                desk.reply(extra)  # more mail to send, in case the load has none
                extra += 1
                time.sleep(0.2)
            held.append(held_by(outbox, workers[0].pid) or "")
            workers[0].kill()
            (outbox / "hold").unlink()
            restart(workers[0])

        # when: the load runs, with the kills beside it
        with ThreadPoolExecutor(max_workers=CLIENT_THREADS + 1) as pool:
            chaos_done = pool.submit(chaos)
            futures = [pool.submit(job) for job in jobs]
            finished, late = wait_for_futures(
                [chaos_done, *futures], timeout=LOAD_SECONDS
            )
            assert not late, (
                f"{len(late)} requests still running after {LOAD_SECONDS} s"
            )
            for future in finished:
                future.result()  # re-raises a failed assertion in a client or chaos

        # the killed worker's task is lost until the scheduler queues it again; only
        # a second task for the same message (the scheduler's run in step 2 may have
        # queued one) can send it before that, once worker 0's row lock is gone
        wait_until(lambda: unsent() <= set(held), SETTLE_SECONDS, "the other tasks")
        run_scheduler_once()
        wait_until(lambda: not unsent(), SETTLE_SECONDS, "the requeued notification")
    except BaseException:
        for process in processes:
            sys.stderr.write(process.tail())
        raise
    finally:
        (outbox / "hold").unlink(missing_ok=True)
        for process in processes:
            process.stop()

    # then: the kills happened during the load
    assert balancer.transport_errors > 0
    assert held, "worker 0 was not killed in the middle of a task"
    assert held[0], "worker 0 was not killed in the middle of a task"
    by_kind: dict[str, list[Outcome]] = {"api": [], "portal": [], "reply": []}
    for outcome in desk.outcomes:
        by_kind[outcome.kind].append(outcome)

    # every ticket request was accepted in the end, and retries got the same ticket
    for outcome in by_kind["api"] + by_kind["portal"]:
        assert outcome.accepted, outcome
        assert len(outcome.numbers) == outcome.sends, outcome
        assert len(set(outcome.numbers)) == 1, outcome
        tickets = Ticket.objects.filter(subject=f"Scale {outcome.marker}")
        assert [t.number for t in tickets] == outcome.numbers[:1], outcome
    for outcome in by_kind["api"]:
        assert outcome.statuses[1:] == [200] * (outcome.sends - 1), outcome
    assert IdempotencyKey.objects.filter(user__email="agent@vendor.test").count() == (
        API_TICKETS
    )
    # no ticket was made that no request asked for
    assert Ticket.objects.count() == tickets_before + API_TICKETS + PORTAL_TICKETS

    # every accepted reply is one message; an unanswered one is at most one
    for outcome in by_kind["reply"]:
        written = Message.objects.filter(body__contains=f"({outcome.marker})").count()
        if outcome.accepted:
            assert written == 1, outcome
        else:
            assert outcome.ambiguous, outcome
            assert written <= 1, outcome

    # every notification ran, and each reply mailed the customer exactly once
    assert not Message.objects.filter(notified_at__isnull=True).exists()
    sent = mails(outbox)
    replies = [
        marker_in(body)
        for body in Message.objects.filter(
            author__email="agent@vendor.test"
        ).values_list("body", flat=True)
    ]
    assert Counter(marker_in(m.get_body().get_content()) for m in sent) == Counter(
        replies
    )
    assert all(m["To"] == CUSTOMER_EMAIL for m in sent)
    assert len({m["Message-ID"] for m in sent}) == len(sent)
    assert held[0] in replies
