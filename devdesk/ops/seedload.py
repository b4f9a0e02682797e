"""A large, believable desk written with bulk inserts, for benchmarks (``devdesk seed-load``).

The demo desk goes through the services and takes seconds for a few hundred tickets;
this writes hundreds of thousands of tickets in minutes by inserting rows directly.
The rows are the ones the services would have written: sequential numbers taken from
the ``ticket`` counter, the first message from the requester, the event log
(``created``, ``message_added``, ``status_changed``, ``escalated``, ``tags_changed``
with the data shapes of :mod:`devdesk.tickets.services`), response and resolution
times that match the conversation, and every message marked notified so that no
worker mails invented history.

Two steps, so the output can be checked without a database:

1. :func:`shape_desk` and :func:`iter_ticket_plans` decide everything (organizations,
   people, every ticket and its conversation) from the seed alone, people being
   referred to by index;
2. :func:`seed_load` creates the organizations, people, teams, products and tags, then
   turns the plans into rows batch by batch, one transaction per batch.

Texts come from real ticket text (the Apache JIRA set in ``shared/data``, cycled with
varied metadata), so search and similarity behave as on a real desk. That data is for
internal evaluation only; the texts built into this module are our own.
"""

from __future__ import annotations

import bisect
import json
import math
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Field, Model
from django.utils import timezone
from django.utils.text import slugify

from devdesk.accounts.models import Organization, Team, User
from devdesk.tickets.models import (
    Message,
    Product,
    Tag,
    Ticket,
    TicketCounter,
    TicketEvent,
)

DEFAULT_SEED = 20250601
DEFAULT_BATCH_SIZE = 2000
# Every seeded person signs in with this; public, hence the DEBUG check in the command.
LOAD_PASSWORD = "devdesk-load"  # noqa: S105
SPAN_DAYS = 4 * 365

Status = Ticket.Status
Kind = TicketEvent.Kind


def default_source() -> Path:
    """The shared Apache JIRA tickets, next to the repository checkout."""
    return (
        Path(settings.BASE_DIR).parent.parent
        / "shared/data/apache-jira-dups-dev/tickets.jsonl"
    )


# Texts


@dataclass(frozen=True)
class SourceText:
    """One real ticket's text: what a customer would have written."""

    key: str
    title: str
    body: str
    project: str


# Our own texts, used when the shared data set is not there (a fresh clone elsewhere).
BUILTIN_TEXTS: tuple[SourceText, ...] = (
    SourceText("API-1", "Webhook deliveries time out after deploy",
               "Since our deploy at 09:00 UTC every webhook delivery to our endpoint "
               "times out after 10 s. The endpoint answers in 200 ms from curl:\n\n"
               "    curl -i https://hooks.example.com/devdesk\n    HTTP/2 200", "API"),
    SourceText("API-2", "401 Unauthorized when refreshing an access token",
               "After exactly one hour every call fails with `401 Unauthorized`. We "
               "call the refresh endpoint with the refresh token we got at sign-in.", "API"),
    SourceText("API-3", "Rate limit headers missing on 429 responses",
               "When we hit the rate limit the response is a 429 without "
               "`Retry-After` or `X-RateLimit-Reset`, so our client cannot back off.", "API"),
    SourceText("API-4", "Pagination cursor returns duplicate items",
               "Walking `/v1/payments?limit=100` with `next_cursor` returns some items "
               "twice when new payments arrive while we page.", "API"),
    SourceText("SDK-1", "Python SDK hangs on connection reset",
               "With sdk 3.2.1 on Python 3.12 the client never returns after the server "
               "resets the connection:\n\n    Traceback (most recent call last):\n"
               "      File \"client.py\", line 88, in request\n    ConnectionResetError: "
               "[Errno 104] Connection reset by peer", "SDK"),
    SourceText("SDK-2", "Node SDK types wrong for optional metadata",
               "The TypeScript definitions mark `metadata` as required on "
               "`createPayment`, but the API accepts requests without it.", "SDK"),
    SourceText("SDK-3", "Go SDK panics with nil pointer on empty response",
               "panic: runtime error: invalid memory address or nil pointer dereference\n"
               "goroutine 1 [running]: client.(*Client).Do(...)", "SDK"),
    SourceText("SDK-4", "Retries send the same idempotency key twice",
               "Our logs show the SDK retrying a POST with a new Idempotency-Key, which "
               "created two charges for one order.", "SDK"),
    SourceText("GW-1", "Self-hosted gateway fails to start after upgrade to 2.4",
               "helm upgrade went fine but the pod crash-loops:\n\n"
               "    Error: migration 0042 failed: relation \"routes\" already exists", "GATEWAY"),
    SourceText("GW-2", "Gateway memory grows until OOM kill",
               "Resident memory grows by about 200 MB an hour under steady load until "
               "the kernel kills the process. Heap profile attached.", "GATEWAY"),
    SourceText("GW-3", "TLS handshake errors with client certificates",
               "Clients presenting certificates signed by our intermediate CA fail with "
               "`tls: unknown certificate authority` although the chain is configured.", "GATEWAY"),
    SourceText("GW-4", "Config reload drops in-flight requests",
               "Sending SIGHUP to reload the config closes open connections instead of "
               "draining them, and our clients see 502s.", "GATEWAY"),
)  # fmt: skip


def load_texts(path: Path) -> list[SourceText]:
    """Read ``{"id", "title", "body", "project"}`` lines; skips lines without a title.

    Raises :class:`FileNotFoundError` when the file is missing.
    """
    texts: list[SourceText] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            row = json.loads(line)
            title = " ".join(str(row.get("title") or "").split())
            if not title:
                continue
            texts.append(
                SourceText(
                    key=str(row.get("id") or ""),
                    title=title,
                    body=str(row.get("body") or ""),
                    project=str(row.get("project") or "GENERAL").upper(),
                )
            )
    return texts


# Shape of the desk


@dataclass(frozen=True)
class OrgPlan:
    name: str
    people: int
    plan: str


@dataclass(frozen=True)
class DeskShape:
    """Everything about the desk except its tickets, decided by the seed."""

    orgs: list[OrgPlan]
    org_cum_weights: list[float]
    agents: int
    engineers: int
    support_teams: list[str]
    projects: list[str]  # one product and one engineering team each
    text_offset: int


ORG_WORDS = (
    "Acme", "Aurora", "Basalt", "Beacon", "Birch", "Cobalt", "Comet", "Copper",
    "Delta", "Ember", "Falcon", "Fjord", "Granite", "Harbor", "Helix", "Indigo",
    "Juniper", "Kestrel", "Lumen", "Maple", "Meridian", "Nimbus", "Nova", "Onyx",
    "Orbit", "Pine", "Polar", "Quartz", "Raven", "Ridge", "Sable", "Sierra",
    "Solstice", "Spruce", "Summit", "Tidal", "Umber", "Vertex", "Willow", "Zephyr",
)  # fmt: skip
ORG_SUFFIXES = (
    "Labs",
    "Systems",
    "Robotics",
    "Logistics",
    "Health",
    "Analytics",
    "Software",
    "Networks",
    "Payments",
    "Games",
)
FIRST_NAMES = (
    "Ada", "Ben", "Carla", "Dev", "Elif", "Femi", "Gina", "Hugo", "Ines", "Jonas",
    "Kai", "Lena", "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tara",
    "Uma", "Vik", "Wen", "Xavi", "Yara", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Andersen", "Baker", "Chen", "Diaz", "Eriksen", "Fischer", "Garcia", "Haddad",
    "Ito", "Jensen", "Kowalski", "Larsen", "Moreau", "Novak", "Okafor", "Petrov",
    "Quint", "Rossi", "Singh", "Tanaka", "Umar", "Varga", "Weber", "Yilmaz",
)  # fmt: skip
PLANS = ("Enterprise", "Business", "Business", "Developer", "Developer", "Developer")
SUPPORT_TEAMS = ["Developer Support", "Tier 2", "Enterprise Support"]
PRODUCT_NAMES = {
    "HIVE": "Hive",
    "AMQ": "ActiveMQ",
    "ZOOKEEPER": "ZooKeeper",
    "STORM": "Storm",
}


def product_name(project: str) -> str:
    return PRODUCT_NAMES.get(project, project.title())


def shape_desk(*, tickets: int, seed: int, texts: Sequence[SourceText]) -> DeskShape:
    """Organizations with Zipf-like sizes (a few large customers, many with a
    handful of tickets), people in proportion, agents and engineers for the volume."""
    rng = random.Random(seed)  # noqa: S311 - made-up content, not secrets
    projects = sorted({t.project for t in texts})
    count = max(5, tickets // 25)
    weights = [1.0 / (k + 1) for k in range(count)]
    total = sum(weights)
    orgs: list[OrgPlan] = []
    for w in weights:
        expected = tickets * w / total
        name = f"{rng.choice(ORG_WORDS)} {rng.choice(ORG_WORDS)} {rng.choice(ORG_SUFFIXES)}"
        people = max(1, min(300, round(expected / 12)))
        orgs.append(OrgPlan(name=name, people=people, plan=rng.choice(PLANS)))
    return DeskShape(
        orgs=orgs,
        org_cum_weights=list(accumulate(weights)),
        agents=max(5, min(400, tickets // 2500)),
        engineers=max(len(projects), min(120, tickets // 10000)),
        support_teams=SUPPORT_TEAMS,
        projects=projects,
        text_offset=rng.randrange(len(texts)),
    )


# Tickets


@dataclass(frozen=True)
class Person:
    """Who did something, by index: the ticket's requester, or agent/engineer ``index``."""

    role: str  # "requester", "agent" or "engineer"
    index: int = 0


REQUESTER = Person("requester")


@dataclass(frozen=True)
class PlannedMessage:
    author: Person
    kind: str
    body: str
    channel: str
    at: datetime


@dataclass(frozen=True)
class PlannedEvent:
    kind: str
    actor: Person | None
    at: datetime
    data: dict[str, Any]
    message: int | None = None  # index into the messages: message_added gets its id


@dataclass
class PlannedTicket:
    """One ticket as the services would have left it, people by index."""

    subject: str
    status: str
    priority: int
    channel: str
    project: str
    has_product: bool
    org: int
    requester: int
    assignee: int | None
    team: int | None
    escalated_project: str | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None = None
    last_customer_message_at: datetime | None = None
    solved_at: datetime | None = None
    closed_at: datetime | None = None
    messages: list[PlannedMessage] = field(default_factory=list)
    events: list[PlannedEvent] = field(default_factory=list)


CUSTOMER_FOLLOWUPS = (
    "Thanks. We tried that and still see the same error on {product}. Anything else "
    "we can send you?",
    "Any update on this? It blocks our release this week.",
    "Here is what we see after restarting with debug logging:\n\n```\n{line}\n```",
    "It happens again since this morning, on two of our three environments.",
    "We upgraded to the latest version as suggested; the problem is gone on staging "
    "but not in production.",
    "Thanks, that explains it. One more question: does the same apply to {product} "
    "in a cluster setup?",
    "Confirmed, the workaround helps. Can you tell us when the fix ships?",
    "Sorry for the delay, we were out last week. Yes, it still happens.",
)
AGENT_REPLIES = (
    "Thanks for the details. Could you send the full log from the moment it starts, "
    "and the exact {product} version you run?",
    "I could reproduce this on our side: it is a known issue in {product} and our "
    "engineers are working on it. As a workaround, restart the affected node.",
    "This comes from a configuration default that changed in the last release. "
    "Setting it back explicitly should fix it; the docs page on upgrades lists it.",
    "Good news: the fix is released. Please upgrade and let us know if you still see "
    "the error.",
    "Thanks for confirming. I'll keep this ticket open until you have tested the new "
    "build.",
    "We looked at the logs you sent. The timeouts start when the connection pool is "
    "exhausted; raising the pool size to 50 should help.",
    "Happy to hear it works now. I'm marking this as solved; just reply if it comes "
    "back.",
    "I've passed this to our engineering team with your logs and will update you as "
    "soon as I hear back.",
)
INTERNAL_NOTES = (
    "Looks like the regression from the last release, same stack trace as the others "
    "this week.",
    "Customer is on an old version of {product}; upgrade should fix it.",
    "Checked their account: plan limits are fine, not a quota issue.",
    "Engineering, can you confirm whether this is the known issue? Logs are on the "
    "ticket.",
    "Asked them for a heap dump; waiting.",
    "Root cause: a race when two nodes restart at once. Fix is in review.",
)
ESCALATION_NOTES = (
    "Escalating: reproducible with the customer's config, looks like a bug in "
    "{product}.",
    "Please have a look: several customers report this after the upgrade.",
)
TAG_VOCABULARY = (
    ("bug", 30), ("question", 20), ("how-to", 10), ("regression", 8),
    ("performance", 8), ("upgrade", 8), ("configuration", 8), ("security", 3),
    ("feature-request", 6), ("docs", 5), ("billing", 3), ("outage", 2),
)  # fmt: skip
TAG_NAMES = [name for name, _ in TAG_VOCABULARY]
TAG_CUM = list(accumulate(w for _, w in TAG_VOCABULARY))

CHANNELS = (
    (Ticket.Channel.PORTAL, 45), (Ticket.Channel.EMAIL, 35), (Ticket.Channel.API, 9),
    (Ticket.Channel.AGENT, 6), (Ticket.Channel.CHAT, 3), (Ticket.Channel.DOCS, 2),
)  # fmt: skip
CHANNEL_NAMES = [str(c) for c, _ in CHANNELS]
CHANNEL_CUM = list(accumulate(w for _, w in CHANNELS))
PRIORITY_CUM = list(accumulate((15, 60, 20, 5)))  # low, normal, high, urgent

# Status by the ticket's age: the last days are all unresolved, the last weeks a
# mix, and older tickets are closed (a few were solved and never closed).
STATUS_BY_AGE: tuple[tuple[float, list[str], list[int]], ...] = (
    (2, [Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER, Status.PENDING_ENGINEERING],
     [35, 35, 20, 10]),
    (60, [Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER, Status.PENDING_ENGINEERING,
          Status.SOLVED, Status.CLOSED], [5, 16, 14, 7, 28, 30]),
    (math.inf, [Status.SOLVED, Status.CLOSED], [1, 99]),
)  # fmt: skip
# Message count 1-20, most conversations short: weight 0.75^(m-1).
MESSAGE_COUNTS = list(range(2, 21))
MESSAGE_CUM = list(accumulate(0.75 ** (m - 1) for m in MESSAGE_COUNTS))


def _pick(rng: random.Random, names: Sequence[Any], cum: Sequence[float]) -> Any:
    return names[bisect.bisect_right(cum, rng.random() * cum[-1])]


def _first_line(body: str) -> str:
    for line in body.splitlines():
        if line.strip():
            return line.strip()[:200]
    return "no output"


def _roles(rng: random.Random, status: str, escalated: bool) -> list[str]:
    """Who writes each message: "customer", "agent" (public) or "note" (internal)."""
    if status == Status.NEW:  # nobody at the desk has answered yet
        extra = rng.random()
        if extra < 0.1:
            return ["customer", "customer"]
        return ["customer", "note"] if extra < 0.2 else ["customer"]
    count = _pick(rng, MESSAGE_COUNTS, MESSAGE_CUM)
    roles = ["customer"]
    for _ in range(count - 1):
        last_public = next(r for r in reversed(roles) if r != "note")
        if rng.random() < 0.18:
            roles.append("note")
        elif last_public == "customer":
            roles.append("agent")
        else:
            roles.append("customer" if rng.random() < 0.85 else "agent")
    if "agent" not in roles:  # everyone gets an answer before a ticket moves on
        roles[1] = "agent"
    if status == Status.PENDING_CUSTOMER:
        last = max(i for i, r in enumerate(roles) if r != "note")
        roles[last if last > 0 else len(roles) - 1] = "agent"
    if status == Status.PENDING_ENGINEERING:
        if len(roles) < 20:
            roles.append("escalation")
        else:
            roles[-1] = "escalation"
        if "agent" not in roles:
            roles[1] = "agent"
    elif escalated:
        first_agent = roles.index("agent")
        if len(roles) < 20:
            roles.insert(first_agent + 1, "escalation")
        else:
            roles[-1] = "escalation"
    return roles


# (seconds after creation, event kind, actor, event data, the message it adds)
_Step = tuple[float, str, Person | None, dict[str, Any], PlannedMessage | None]


class _Timeline:
    """Offsets in seconds from creation; squeezed to end before ``now`` at the end."""

    def __init__(self) -> None:
        self.offset = 0.0

    def after(self, rng: random.Random, mean_seconds: float) -> float:
        self.offset += 30 + rng.expovariate(1 / mean_seconds)
        return self.offset


def _plan_ticket(
    rng: random.Random,
    i: int,
    n: int,
    shape: DeskShape,
    texts: Sequence[SourceText],
    now: datetime,
) -> PlannedTicket:
    text = texts[(shape.text_offset + i) % len(texts)]
    # 1. When: stratified over the span (numbers follow time), denser towards now
    # (density 1 + 3x grows with the desk; x = inverse of its CDF).
    p = (i + rng.random()) / n
    x = (-1 + math.sqrt(1 + 15 * p)) / 3
    created = now - timedelta(days=SPAN_DAYS * (1 - x), minutes=10)
    age_days = (now - created).total_seconds() / 86400
    # 2. What: status by age, metadata at random.
    limit_statuses = next(s for s in STATUS_BY_AGE if age_days < s[0])
    status = rng.choices(limit_statuses[1], weights=limit_statuses[2])[0]
    channel = _pick(rng, CHANNEL_NAMES, CHANNEL_CUM)
    priority = bisect.bisect_right(PRIORITY_CUM, rng.random() * 100) + 1
    org = bisect.bisect_right(
        shape.org_cum_weights, rng.random() * shape.org_cum_weights[-1]
    )
    org = min(org, len(shape.orgs) - 1)
    requester = int(shape.orgs[org].people * rng.random() ** 2)
    unassigned = status == Status.NEW and rng.random() < 0.5
    assignee = None if unassigned else rng.randrange(shape.agents)
    team = None if assignee is None else assignee % len(shape.support_teams)
    escalated = status == Status.PENDING_ENGINEERING or (
        status != Status.NEW and rng.random() < 0.08
    )
    tags: list[str] = []
    if rng.random() < 0.5:
        tags.append(slugify(product_name(text.project)))
    for _ in range(rng.choice((0, 0, 1, 1, 1, 2))):
        name = _pick(rng, TAG_NAMES, TAG_CUM)
        if name not in tags:
            tags.append(name)
    agent = Person("agent", assignee if assignee is not None else 0)
    engineer_team = shape.projects.index(text.project)
    engineer = Person(
        "engineer",
        engineer_team
        + len(shape.projects)
        * rng.randrange(max(1, shape.engineers // len(shape.projects))),
    )
    if engineer.index >= shape.engineers:
        engineer = Person("engineer", engineer_team % shape.engineers)
    ticket = PlannedTicket(
        subject=text.title[: settings.TICKET_SUBJECT_MAX_CHARS],
        status=status,
        priority=priority,
        channel=channel,
        project=text.project,
        has_product=rng.random() < 0.9,
        org=org,
        requester=requester,
        assignee=assignee,
        team=team,
        escalated_project=text.project if escalated else None,
        tags=tags,
        created_at=created,
        updated_at=created,
    )
    # 3. The conversation, walked through the same status rules as the services.
    roles = _roles(rng, status, escalated)
    offsets: list[_Step] = []
    clock = _Timeline()
    state = str(Status.NEW)
    solved_at: float | None = None
    closed_at: float | None = None
    vars_ = {"product": product_name(text.project), "line": _first_line(text.body)}

    def set_status(at: float, new: str, actor: Person | None, reason: str = "") -> None:
        nonlocal state, solved_at, closed_at
        offsets.append(
            (
                at,
                Kind.STATUS_CHANGED,
                actor,
                {"old": state, "new": new, "reason": reason},
                None,
            )
        )
        if new == Status.SOLVED:
            solved_at = at
        elif new == Status.CLOSED:
            closed_at = at
        elif state in {Status.SOLVED, Status.CLOSED}:
            solved_at = None
        state = new

    def add(at: float, author: Person, kind: str, body: str, msg_channel: str) -> None:
        message = PlannedMessage(author, kind, body, msg_channel, created)
        offsets.append(
            (at, Kind.MESSAGE_ADDED, author, {"message_kind": kind}, message)
        )

    creator = agent if channel == Ticket.Channel.AGENT else REQUESTER
    offsets.append((0.0, Kind.CREATED, creator, {"channel": channel}, None))
    add(0.0, REQUESTER, Message.Kind.PUBLIC, text.body.strip() or text.title, channel)
    if tags:
        offsets.append(
            (0.0, Kind.TAGS_CHANGED, creator, {"added": tags, "removed": []}, None)
        )
    first_response: float | None = None
    last_customer = 0.0
    customer_channel = (
        Ticket.Channel.EMAIL
        if channel == Ticket.Channel.EMAIL
        else Ticket.Channel.PORTAL
    )
    for k, role in enumerate(roles[1:], start=1):
        upcoming = next((r for r in roles[k + 1 :] if r in {"customer", "agent"}), None)
        if role == "customer":
            at = clock.after(rng, 20 * 3600)
            body = rng.choice(CUSTOMER_FOLLOWUPS).format(**vars_)
            add(at, REQUESTER, Message.Kind.PUBLIC, body, customer_channel)
            last_customer = at
            if state in {Status.PENDING_CUSTOMER, Status.SOLVED}:
                set_status(at, Status.OPEN, REQUESTER, "customer_reply")
        elif role == "agent":
            at = clock.after(rng, 3 * 3600 if first_response is None else 8 * 3600)
            body = rng.choice(AGENT_REPLIES).format(**vars_)
            add(at, agent, Message.Kind.PUBLIC, body, Ticket.Channel.AGENT)
            first_response = at if first_response is None else first_response
            # "Submit as": pending when the customer is to answer, sometimes solved
            # (the customer's answer reopens it), else a new ticket becomes open.
            submit_as: str | None = None
            if upcoming == "customer" and state != Status.PENDING_ENGINEERING:
                roll = rng.random()
                submit_as = (
                    Status.PENDING_CUSTOMER
                    if roll < 0.5
                    else Status.SOLVED
                    if roll < 0.6
                    else None
                )
            elif upcoming is None and status == Status.PENDING_CUSTOMER:
                submit_as = Status.PENDING_CUSTOMER
            elif upcoming is None and status in {Status.SOLVED, Status.CLOSED}:
                submit_as = Status.SOLVED if rng.random() < 0.7 else None
            if submit_as is None and state == Status.NEW:
                set_status(at, Status.OPEN, agent, "desk_reply")
            elif submit_as is not None and submit_as != state:
                set_status(at, submit_as, agent)
        elif role == "note":
            at = clock.after(rng, 2 * 3600)
            author = (
                engineer if ticket.escalated_project and rng.random() < 0.5 else agent
            )
            body = rng.choice(INTERNAL_NOTES).format(**vars_)
            add(at, author, Message.Kind.INTERNAL, body, Ticket.Channel.AGENT)
        else:  # escalation: the event, the note explaining it, then pending engineering
            at = clock.after(rng, 4 * 3600)
            offsets.append((at, Kind.ESCALATED, agent, {"team": text.project}, None))
            body = rng.choice(ESCALATION_NOTES).format(**vars_)
            add(at, agent, Message.Kind.INTERNAL, body, Ticket.Channel.AGENT)
            if state != Status.PENDING_ENGINEERING:
                set_status(at, Status.PENDING_ENGINEERING, agent)
    # 4. Bring it to its final status the way an agent would.
    if status in {Status.SOLVED, Status.CLOSED} and state != Status.SOLVED:
        set_status(clock.after(rng, 12 * 3600), Status.SOLVED, agent)
    if status == Status.CLOSED:
        set_status(clock.after(rng, 4 * 86400), Status.CLOSED, None)
    elif status != state:
        set_status(clock.after(rng, 3600), status, agent)
    # 5. Squeeze the story into the time between creation and now, then date it.
    room = max(60.0, (now - created).total_seconds() - 60)
    scale = min(1.0, room / clock.offset) if clock.offset > 0 else 1.0
    seconds = 0.0
    for at, kind, actor, data, message in offsets:
        seconds = at * scale
        when = created + timedelta(seconds=seconds)
        if message is not None:
            ticket.messages.append(
                PlannedMessage(
                    message.author, message.kind, message.body, message.channel, when
                )
            )
            ticket.events.append(
                PlannedEvent(kind, actor, when, data, len(ticket.messages) - 1)
            )
        else:
            ticket.events.append(PlannedEvent(kind, actor, when, data))
    ticket.updated_at = created + timedelta(seconds=seconds)

    def dated(offset: float | None) -> datetime | None:
        return None if offset is None else created + timedelta(seconds=offset * scale)

    ticket.first_response_at = dated(first_response)
    ticket.last_customer_message_at = dated(last_customer)
    ticket.solved_at = dated(solved_at)
    ticket.closed_at = dated(closed_at)
    return ticket


def iter_ticket_plans(
    *,
    tickets: int,
    seed: int,
    shape: DeskShape,
    texts: Sequence[SourceText],
    now: datetime,
) -> Iterator[PlannedTicket]:
    """Every ticket of the load, oldest first; the same for the same arguments."""
    rng = random.Random(seed * 7919 + 1)  # noqa: S311 - made-up content, not secrets
    for i in range(tickets):
        yield _plan_ticket(rng, i, tickets, shape, texts, now)


# Writing


@dataclass
class Summary:
    tickets: int = 0
    messages: int = 0
    events: int = 0
    organizations: int = 0
    people: int = 0
    first_number: int = 0
    last_number: int = 0
    seconds: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)


@dataclass
class _Cast:
    """Database ids for the plan's indexes."""

    org_ids: list[int]
    people: list[list[tuple[int, str]]]  # per organization: (id, e-mail)
    agent_ids: list[int]
    engineer_ids: list[int]
    support_team_ids: list[int]
    eng_teams: dict[str, tuple[int, str]]  # project -> (team id, name)
    product_ids: dict[str, int]
    tag_ids: dict[str, int]


def _reserve_numbers(count: int) -> int:
    """Take ``count`` ticket numbers at once; returns the first. Tickets opened
    meanwhile or later get numbers after the range."""
    with transaction.atomic():
        counter, _ = TicketCounter.objects.select_for_update().get_or_create(
            name="ticket"
        )
        first = counter.value + 1
        counter.value += count
        counter.save(update_fields=["value"])
    return first


def _vendor() -> Organization:
    vendor = (
        Organization.objects.filter(kind=Organization.Kind.VENDOR)
        .order_by("pk")
        .first()
    )
    if vendor is None:
        vendor, _ = Organization.objects.get_or_create(
            slug="loadtest-vendor",
            defaults={
                "name": "Loadtest Vendor",
                "kind": Organization.Kind.VENDOR,
                "domains": "loadtest-vendor.example",
            },
        )
    return vendor


def _write_cast(
    shape: DeskShape, *, run: str, now: datetime, seed: int, batch_size: int
) -> _Cast:
    """Organizations, people, teams, products and tags for one load."""
    rng = random.Random(seed * 31 + 7)  # noqa: S311 - made-up content, not secrets
    password = make_password(LOAD_PASSWORD)  # once: hashing is slow on purpose
    start = now - timedelta(days=SPAN_DAYS + 30)
    vendor = _vendor()
    vendor_domain = (
        vendor.domain_list[0] if vendor.domain_list else f"{vendor.slug}.example"
    )

    orgs = []
    for k, data in enumerate(shape.orgs):
        slug = f"{run}-{k}-{slugify(data.name)}"[:80]
        orgs.append(
            Organization(
                name=data.name,
                slug=slug,
                kind=Organization.Kind.CUSTOMER,
                domains=f"{slug}.example",
                plan=data.plan,
                created_at=start,
            )
        )
    Organization.objects.bulk_create(orgs, batch_size=batch_size)

    def person(email: str, role: str, org: Organization, name: str) -> User:
        return User(
            email=email,
            name=name,
            role=role,
            organization=org,
            password=password,
            date_joined=start,
            is_staff=role == User.Role.ADMIN,
            is_superuser=role == User.Role.ADMIN,
        )

    def name() -> str:
        return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"

    users: list[User] = []
    for org, data in zip(orgs, shape.orgs, strict=True):
        users.extend(
            person(f"user{j}@{org.domains}", User.Role.CUSTOMER, org, name())
            for j in range(data.people)
        )
    agents = [
        person(f"agent{j}.{run}@{vendor_domain}", User.Role.AGENT, vendor, name())
        for j in range(shape.agents)
    ]
    engineers = [
        person(f"engineer{j}.{run}@{vendor_domain}", User.Role.ENGINEER, vendor, name())
        for j in range(shape.engineers)
    ]
    admin = person(f"admin.{run}@{vendor_domain}", User.Role.ADMIN, vendor, name())
    User.objects.bulk_create(
        [*users, *agents, *engineers, admin], batch_size=batch_size
    )

    support = [
        Team(name=team, slug=f"{slugify(team)}-{run}", kind=Team.Kind.SUPPORT)
        for team in shape.support_teams
    ]
    eng = [
        Team(
            name=f"{product_name(p)} Engineering",
            slug=f"{slugify(product_name(p))}-eng-{run}"[:60],
            kind=Team.Kind.ENGINEERING,
        )
        for p in shape.projects
    ]
    Team.objects.bulk_create([*support, *eng])
    members = [
        Team.members.through(team_id=support[j % len(support)].pk, user_id=a.pk)
        for j, a in enumerate(agents)
    ] + [
        Team.members.through(team_id=eng[j % len(eng)].pk, user_id=e.pk)
        for j, e in enumerate(engineers)
    ]
    Team.members.through.objects.bulk_create(members, batch_size=batch_size)

    product_ids = {
        p: Product.objects.get_or_create(
            slug=slugify(product_name(p)), defaults={"name": product_name(p)}
        )[0].pk
        for p in shape.projects
    }
    tag_names = {*TAG_NAMES, *(slugify(product_name(p)) for p in shape.projects)}
    tag_ids = {n: Tag.objects.get_or_create(name=n)[0].pk for n in sorted(tag_names)}

    people: list[list[tuple[int, str]]] = []
    position = 0
    for data in shape.orgs:
        chunk = users[position : position + data.people]
        people.append([(u.pk, u.email) for u in chunk])
        position += data.people
    return _Cast(
        org_ids=[o.pk for o in orgs],
        people=people,
        agent_ids=[a.pk for a in agents],
        engineer_ids=[e.pk for e in engineers],
        support_team_ids=[t.pk for t in support],
        eng_teams={p: (t.pk, t.name) for p, t in zip(shape.projects, eng, strict=True)},
        product_ids=product_ids,
        tag_ids=tag_ids,
    )


def _column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or field.column is None:
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field.column


_Copy = tuple[str, list[Sequence[Any]]]  # a COPY statement and its rows


class _Inserter:
    """Inserts without the ORM's per-field work, which costs more than the database
    here. Values go as the backend stores them: aware datetimes for PostgreSQL, naive
    UTC text for SQLite, JSON as text (what Django itself writes).

    - SQLite: multi-row ``INSERT … RETURNING id`` at once.
    - PostgreSQL: ids are drawn from the table's sequence first (so they are known
      and never collide with concurrent inserts), and the rows are written with
      ``COPY`` when the batch is flushed. With ``background=True`` a second thread,
      on its own connection, does the COPYs while this one plans the next batch;
      the customers and people must be committed before.
    """

    # Below SQLite's 32,766 bound variables.
    MAX_PARAMS = 30_000

    def __init__(self, *, background: bool = False) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.pending: list[_Copy] = []
        self.queue: queue.Queue[list[_Copy] | None] | None = None
        self.failure: BaseException | None = None
        if self.postgres and background:
            self.queue = queue.Queue(maxsize=2)
            self.thread = threading.Thread(target=self._write_in_background)
            self.thread.start()

    def when(self, value: datetime | None) -> Any:
        if value is None or self.postgres:
            return value
        return str(value.astimezone(UTC).replace(tzinfo=None))

    @staticmethod
    def json(value: dict[str, Any]) -> str:
        return json.dumps(value)

    def insert(
        self,
        model: type[Model],
        fields: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        returning: bool = False,
    ) -> list[int]:
        """Insert ``rows`` (values in the order of ``fields``; on PostgreSQL at the
        next :meth:`flush`); returns their ids in order when asked."""
        if not rows:
            return []
        quote = connection.ops.quote_name
        table = quote(model._meta.db_table)
        pk = _column(model, "id")
        columns = [quote(_column(model, f)) for f in fields]
        ids: list[int] = []
        with connection.cursor() as cursor:
            if self.postgres:
                if returning:
                    cursor.execute(
                        "SELECT nextval(pg_get_serial_sequence(%s, %s)) "
                        "FROM generate_series(1, %s)",
                        [model._meta.db_table, pk, len(rows)],
                    )
                    ids = [row[0] for row in cursor.fetchall()]
                    columns.insert(0, quote(pk))
                    rows = [(i, *row) for i, row in zip(ids, rows, strict=True)]
                sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
                self.pending.append((sql, list(rows)))
                return ids
            # Names come from the models' metadata, values go as parameters.
            head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "  # noqa: S608
            one = "(" + ", ".join(["%s"] * len(fields)) + ")"
            tail = f" RETURNING {quote(pk)}" if returning else ""
            per_statement = max(1, self.MAX_PARAMS // len(fields))
            for start in range(0, len(rows), per_statement):
                chunk = rows[start : start + per_statement]
                params = [value for row in chunk for value in row]
                cursor.execute(head + ", ".join([one] * len(chunk)) + tail, params)
                if returning:
                    ids.extend(row[0] for row in cursor.fetchall())
        return ids

    def flush(self) -> None:
        """Write what :meth:`insert` queued, as one transaction."""
        copies, self.pending = self.pending, []
        if self.failure is not None:
            raise self.failure
        if self.queue is not None:
            self.queue.put(copies)
        elif copies:
            with transaction.atomic():
                self._copy(copies)

    def close(self) -> None:
        """Wait for the background writer; raises what it raised."""
        if self.queue is not None:
            self.queue.put(None)
            self.thread.join()
        if self.failure is not None:
            raise self.failure

    @staticmethod
    def _copy(copies: list[_Copy]) -> None:
        with connection.cursor() as cursor:
            for sql, rows in copies:
                with cursor.cursor.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(row)

    def _write_in_background(self) -> None:
        assert self.queue is not None  # noqa: S101 - only started with a queue
        try:
            while (copies := self.queue.get()) is not None:
                if self.failure is None:
                    with transaction.atomic():
                        self._copy(copies)
        except BaseException as error:  # handed to the main thread at the next flush
            self.failure = error
            while self.queue.get() is not None:  # let the main thread finish putting
                pass
        finally:
            connection.close()


TICKET_FIELDS = (
    "number", "subject", "status", "priority", "channel", "product", "organization",
    "requester", "owner", "assignee", "team", "escalated_team", "created_at", "updated_at",
    "last_customer_message_at", "first_response_at", "solved_at", "closed_at",
)  # fmt: skip
MESSAGE_FIELDS = (
    "ticket", "origin_ticket", "author", "kind", "body", "channel", "created_at",
    "notified_at",
)  # fmt: skip
EVENT_FIELDS = ("ticket", "actor", "kind", "data", "created_at")


def _write_batch(
    plans: list[PlannedTicket], *, first_number: int, cast: _Cast, db: _Inserter
) -> tuple[int, int]:
    """Insert one batch of planned tickets with their messages, events and tags."""

    def person_id(person: Person | None, plan: PlannedTicket) -> int | None:
        if person is None:
            return None
        if person.role == "requester":
            return cast.people[plan.org][plan.requester][0]
        if person.role == "agent":
            return cast.agent_ids[person.index]
        return cast.engineer_ids[person.index]

    when = db.when
    ticket_rows = []
    for k, plan in enumerate(plans):
        agent = None if plan.assignee is None else cast.agent_ids[plan.assignee]
        escalated = plan.escalated_project
        ticket_rows.append(
            (
                first_number + k,
                plan.subject,
                plan.status,
                plan.priority,
                plan.channel,
                cast.product_ids[plan.project] if plan.has_product else None,
                cast.org_ids[plan.org],
                cast.people[plan.org][plan.requester][0],
                agent,
                agent,
                None if plan.team is None else cast.support_team_ids[plan.team],
                cast.eng_teams[escalated][0] if escalated else None,
                when(plan.created_at),
                when(plan.updated_at),
                when(plan.last_customer_message_at),
                when(plan.first_response_at),
                when(plan.solved_at),
                when(plan.closed_at),
            )
        )
    ticket_ids = db.insert(Ticket, TICKET_FIELDS, ticket_rows, returning=True)
    message_rows = [
        (
            ticket_id,
            ticket_id,
            person_id(m.author, plan),
            m.kind,
            m.body,
            m.channel,
            when(m.at),
            when(m.at),
        )
        for ticket_id, plan in zip(ticket_ids, plans, strict=True)
        for m in plan.messages
    ]
    message_ids = db.insert(Message, MESSAGE_FIELDS, message_rows, returning=True)
    event_rows: list[tuple[Any, ...]] = []
    links: list[tuple[int, int]] = []
    position = 0
    for ticket_id, plan in zip(ticket_ids, plans, strict=True):
        for event in plan.events:
            data = event.data
            if event.message is not None:
                data = {
                    "message_id": message_ids[position + event.message],
                    "message_kind": data["message_kind"],
                    "attachments": 0,
                }
            elif event.kind == Kind.CREATED:
                email = cast.people[plan.org][plan.requester][1]
                data = {"channel": data["channel"], "requester": email}
            elif event.kind == Kind.ESCALATED:
                team_id, team_name = cast.eng_teams[data["team"]]
                data = {"team": {"id": team_id, "name": team_name}}
            event_rows.append(
                (
                    ticket_id,
                    person_id(event.actor, plan),
                    event.kind,
                    db.json(data),
                    when(event.at),
                )
            )
        position += len(plan.messages)
        links.extend((ticket_id, cast.tag_ids[name]) for name in plan.tags)
    db.insert(TicketEvent, EVENT_FIELDS, event_rows)
    db.insert(Ticket.tags.through, ("ticket", "tag"), links)
    return len(message_rows), len(event_rows)


def load_texts_or_builtin(source: Path) -> tuple[list[SourceText], str]:
    """The texts of ``source``, or the built-in ones when it is missing or empty;
    with a line saying which."""
    try:
        texts = load_texts(source)
    except FileNotFoundError:
        return list(BUILTIN_TEXTS), (
            f"{source} not found: using {len(BUILTIN_TEXTS)} built-in texts"
        )
    if not texts:
        return list(BUILTIN_TEXTS), f"{source} is empty: using built-in texts"
    return texts, f"{source} ({len(texts):,} texts)"


def seed_load(
    *,
    tickets: int,
    seed: int = DEFAULT_SEED,
    texts: Sequence[SourceText] = BUILTIN_TEXTS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int, float], None] | None = None,
    progress_every: int = 10_000,
) -> Summary:
    """Add ``tickets`` tickets (with their customers, agents, teams, products and
    tags) to the database; returns what was written.

    Numbers continue after the ticket counter, which is advanced first, so tickets
    opened during or after the load never collide. Each batch is its own transaction:
    an interrupted load leaves whole tickets, and a gap in the numbers. No event
    subscriber runs and nothing is enqueued; every message counts as notified.
    """
    started = time.monotonic()
    now = timezone.now()
    shape = shape_desk(tickets=tickets, seed=seed, texts=texts)
    first = _reserve_numbers(tickets)
    summary = Summary(first_number=first, last_number=first + tickets - 1)
    with transaction.atomic():
        cast = _write_cast(
            shape, run=f"lt{first}", now=now, seed=seed, batch_size=batch_size
        )
    summary.organizations = len(cast.org_ids)
    summary.people = (
        sum(len(p) for p in cast.people)
        + len(cast.agent_ids)
        + len(cast.engineer_ids)
        + 1
    )
    plans = iter_ticket_plans(
        tickets=tickets, seed=seed, shape=shape, texts=texts, now=now
    )
    # Inside an outer transaction (tests) another connection could not see the
    # people the tickets point to, so the background writer is for real runs only.
    db = _Inserter(background=not connection.in_atomic_block)
    done = 0
    next_report = progress_every
    try:
        while done < tickets:
            batch = [next(plans) for _ in range(min(batch_size, tickets - done))]
            with transaction.atomic():
                messages, events = _write_batch(
                    batch, first_number=first + done, cast=cast, db=db
                )
                db.flush()
            summary.messages += messages
            summary.events += events
            summary.statuses.update(p.status for p in batch)
            done += len(batch)
            if progress is not None and (done >= next_report or done == tickets):
                progress(done, time.monotonic() - started)
                next_report = (done // progress_every + 1) * progress_every
    finally:
        db.close()
    summary.tickets = done
    summary.seconds = time.monotonic() - started
    return summary
