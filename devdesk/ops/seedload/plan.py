"""Step 1: decide the whole desk from the seed alone, without a database."""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from django.conf import settings
from django.utils.text import slugify

# Shape of the desk
from devdesk.ops.seedload.defaults import SPAN_DAYS, Kind, Status
from devdesk.ops.seedload.texts import SourceText
from devdesk.tickets.models import (
    Message,
    Ticket,
)


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
