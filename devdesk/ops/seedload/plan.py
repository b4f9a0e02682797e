"""Step 1: decide the whole desk from the seed alone, without a database."""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any, NamedTuple

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


@dataclass(frozen=True, slots=True)
class Person:
    """Who did something, by index: the ticket's requester, or agent/engineer ``index``."""

    role: str  # "requester", "agent" or "engineer"
    index: int = 0


REQUESTER = Person("requester")


class PlannedMessage(NamedTuple):
    author: Person
    kind: str
    body: str
    channel: str
    at: datetime


class PlannedEvent(NamedTuple):
    kind: str
    actor: Person | None
    at: datetime
    data: dict[str, Any]
    message: int | None = None  # index into the messages: message_added gets its id


@dataclass(slots=True)
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
# mix, and older tickets are closed (a few were solved and never closed). Weights are
# cumulative, for _pick.
STATUS_BY_AGE: tuple[tuple[float, list[str], list[int]], ...] = (
    (2, [Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER, Status.PENDING_ENGINEERING],
     list(accumulate([35, 35, 20, 10]))),
    (60, [Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER, Status.PENDING_ENGINEERING,
          Status.SOLVED, Status.CLOSED], list(accumulate([5, 16, 14, 7, 28, 30]))),
    (math.inf, [Status.SOLVED, Status.CLOSED], list(accumulate([1, 99]))),
)  # fmt: skip
# Message count 1-20, most conversations short: weight 0.75^(m-1).
MESSAGE_COUNTS = list(range(2, 21))
MESSAGE_CUM = list(accumulate(0.75 ** (m - 1) for m in MESSAGE_COUNTS))

# The hot loop below runs ~15 times per ticket: plain names instead of attribute
# look-ups on the choices classes, and sets built once.
NEW, OPEN, SOLVED, CLOSED = Status.NEW, Status.OPEN, Status.SOLVED, Status.CLOSED
PENDING_CUSTOMER, PENDING_ENGINEERING = (
    Status.PENDING_CUSTOMER,
    Status.PENDING_ENGINEERING,
)
RESOLVED = frozenset({SOLVED, CLOSED})
REOPENED_BY_CUSTOMER = frozenset({PENDING_CUSTOMER, SOLVED})
CREATED, MESSAGE_ADDED, STATUS_CHANGED = (
    Kind.CREATED,
    Kind.MESSAGE_ADDED,
    Kind.STATUS_CHANGED,
)
ESCALATED, TAGS_CHANGED = Kind.ESCALATED, Kind.TAGS_CHANGED
PUBLIC, INTERNAL = Message.Kind.PUBLIC, Message.Kind.INTERNAL
AGENT_CHANNEL, EMAIL_CHANNEL = Ticket.Channel.AGENT, Ticket.Channel.EMAIL
PORTAL_CHANNEL = Ticket.Channel.PORTAL
PUBLIC_ROLES = frozenset({"customer", "agent"})


def _pick(rng: random.Random, names: Sequence[Any], cum: Sequence[float]) -> Any:
    # What rng.choices(names, cum_weights=cum) returns, without building a list.
    return names[bisect.bisect_right(cum, rng.random() * cum[-1])]


def _first_line(body: str) -> str:
    for line in body.splitlines():
        if line.strip():
            return line.strip()[:200]
    return "no output"


def _roles(rng: random.Random, status: str, escalated: bool) -> list[str]:
    """Who writes each message: "customer", "agent" (public) or "note" (internal)."""
    if status == NEW:  # nobody at the desk has answered yet
        extra = rng.random()
        if extra < 0.1:
            return ["customer", "customer"]
        return ["customer", "note"] if extra < 0.2 else ["customer"]
    count = _pick(rng, MESSAGE_COUNTS, MESSAGE_CUM)
    roles = ["customer"]
    last_public = "customer"
    for _ in range(count - 1):
        if rng.random() < 0.18:
            roles.append("note")
            continue
        if last_public == "customer":
            last_public = "agent"
        else:
            last_public = "customer" if rng.random() < 0.85 else "agent"
        roles.append(last_public)
    if "agent" not in roles:  # everyone gets an answer before a ticket moves on
        roles[1] = "agent"
    if status == PENDING_CUSTOMER:
        last = max(i for i, r in enumerate(roles) if r != "note")
        roles[last if last > 0 else len(roles) - 1] = "agent"
    if status == PENDING_ENGINEERING:
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


# A template, and the text it gives when it needs only the product.
_Template = tuple[str, str | None]


@dataclass(frozen=True)
class _Replies:
    """The texts of the conversation for one product."""

    product: str
    followups: tuple[_Template, ...]
    replies: tuple[_Template, ...]
    notes: tuple[_Template, ...]
    escalations: tuple[_Template, ...]


def _templates(templates: Sequence[str], product: str) -> tuple[_Template, ...]:
    return tuple(
        (t, None if "{line}" in t else t.format(product=product)) for t in templates
    )


def _replies(project: str) -> _Replies:
    product = product_name(project)
    return _Replies(
        product=product,
        followups=_templates(CUSTOMER_FOLLOWUPS, product),
        replies=_templates(AGENT_REPLIES, product),
        notes=_templates(INTERNAL_NOTES, product),
        escalations=_templates(ESCALATION_NOTES, product),
    )


@dataclass(frozen=True)
class _TextFacts:
    """What a ticket takes from its source text, worked out once per text: a load of
    a million tickets cycles through the same texts many times."""

    subject: str
    body: str
    project: str
    product_tag: str
    first_line: str
    engineer_team: int
    replies: _Replies


def _text_facts(text: SourceText, shape: DeskShape, replies: _Replies) -> _TextFacts:
    return _TextFacts(
        subject=text.title[: settings.TICKET_SUBJECT_MAX_CHARS],
        body=text.body.strip() or text.title,
        project=text.project,
        product_tag=slugify(replies.product),
        first_line=_first_line(text.body),
        engineer_team=shape.projects.index(text.project),
        replies=replies,
    )


def _plan_ticket(
    rng: random.Random,
    i: int,
    n: int,
    shape: DeskShape,
    text: _TextFacts,
    now: datetime,
) -> PlannedTicket:
    random_ = rng.random
    # 1. When: stratified over the span (numbers follow time), denser towards now
    # (density 1 + 3x grows with the desk; x = inverse of its CDF).
    p = (i + random_()) / n
    x = (-1 + math.sqrt(1 + 15 * p)) / 3
    created = now - timedelta(days=SPAN_DAYS * (1 - x), minutes=10)
    age_days = (now - created).total_seconds() / 86400
    # 2. What: status by age, metadata at random.
    _, statuses, cum = next(s for s in STATUS_BY_AGE if age_days < s[0])
    status = _pick(rng, statuses, cum)
    channel = _pick(rng, CHANNEL_NAMES, CHANNEL_CUM)
    priority = bisect.bisect_right(PRIORITY_CUM, random_() * 100) + 1
    org = bisect.bisect_right(
        shape.org_cum_weights, random_() * shape.org_cum_weights[-1]
    )
    org = min(org, len(shape.orgs) - 1)
    requester = int(shape.orgs[org].people * random_() ** 2)
    unassigned = status == NEW and random_() < 0.5
    assignee = None if unassigned else rng.randrange(shape.agents)
    team = None if assignee is None else assignee % len(shape.support_teams)
    escalated = status == PENDING_ENGINEERING or (status != NEW and random_() < 0.08)
    tags: list[str] = []
    if random_() < 0.5:
        tags.append(text.product_tag)
    for _ in range(rng.choice((0, 0, 1, 1, 1, 2))):
        name = _pick(rng, TAG_NAMES, TAG_CUM)
        if name not in tags:
            tags.append(name)
    agent = Person("agent", assignee if assignee is not None else 0)
    engineer_team = text.engineer_team
    engineer = Person(
        "engineer",
        engineer_team
        + len(shape.projects)
        * rng.randrange(max(1, shape.engineers // len(shape.projects))),
    )
    if engineer.index >= shape.engineers:
        engineer = Person("engineer", engineer_team % shape.engineers)
    ticket = PlannedTicket(
        subject=text.subject,
        status=status,
        priority=priority,
        channel=channel,
        project=text.project,
        has_product=random_() < 0.9,
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
    # Each step: (seconds after creation, event kind, actor, event data, the message
    # it adds as (author, kind, body, channel) or None).
    roles = _roles(rng, status, escalated)
    steps: list[
        tuple[float, str, Person | None, dict[str, Any], tuple[Any, ...] | None]
    ] = []
    expovariate = rng.expovariate
    clock = 0.0  # seconds after creation; squeezed to end before now in step 5
    state: str = NEW
    solved_at: float | None = None
    closed_at: float | None = None

    def set_status(at: float, new: str, actor: Person | None, reason: str = "") -> None:
        nonlocal state, solved_at, closed_at
        steps.append(
            (
                at,
                STATUS_CHANGED,
                actor,
                {"old": state, "new": new, "reason": reason},
                None,
            )
        )
        if new == SOLVED:
            solved_at = at
        elif new == CLOSED:
            closed_at = at
        elif state in RESOLVED:
            solved_at = None
        state = new

    replies = text.replies

    def body(templates: tuple[_Template, ...]) -> str:
        template, ready = rng.choice(templates)
        if ready is not None:
            return ready
        return template.format(product=replies.product, line=text.first_line)

    creator = agent if channel == AGENT_CHANNEL else REQUESTER
    steps.append((0.0, CREATED, creator, {"channel": channel}, None))
    steps.append(
        (
            0.0,
            MESSAGE_ADDED,
            REQUESTER,
            {"message_kind": PUBLIC},
            (REQUESTER, PUBLIC, text.body, channel),
        )
    )
    if tags:
        steps.append((0.0, TAGS_CHANGED, creator, {"added": tags, "removed": []}, None))
    first_response: float | None = None
    last_customer = 0.0
    customer_channel = EMAIL_CHANNEL if channel == EMAIL_CHANNEL else PORTAL_CHANNEL
    # The next public role after each position, read backwards once.
    upcoming_roles: list[str | None] = [None] * len(roles)
    upcoming: str | None = None
    for k in range(len(roles) - 1, 0, -1):
        upcoming_roles[k] = upcoming
        if roles[k] in PUBLIC_ROLES:
            upcoming = roles[k]
    for k in range(1, len(roles)):
        role = roles[k]
        if role == "customer":
            clock += 30 + expovariate(1 / (20 * 3600))
            at = clock
            text_ = body(replies.followups)
            steps.append(
                (
                    at,
                    MESSAGE_ADDED,
                    REQUESTER,
                    {"message_kind": PUBLIC},
                    (REQUESTER, PUBLIC, text_, customer_channel),
                )
            )
            last_customer = at
            if state in REOPENED_BY_CUSTOMER:
                set_status(at, OPEN, REQUESTER, "customer_reply")
        elif role == "agent":
            clock += 30 + expovariate(
                1 / (3 * 3600 if first_response is None else 8 * 3600)
            )
            at = clock
            text_ = body(replies.replies)
            steps.append(
                (
                    at,
                    MESSAGE_ADDED,
                    agent,
                    {"message_kind": PUBLIC},
                    (agent, PUBLIC, text_, AGENT_CHANNEL),
                )
            )
            first_response = at if first_response is None else first_response
            # "Submit as": pending when the customer is to answer, sometimes solved
            # (the customer's answer reopens it), else a new ticket becomes open.
            upcoming = upcoming_roles[k]
            submit_as: str | None = None
            if upcoming == "customer" and state != PENDING_ENGINEERING:
                roll = random_()
                submit_as = (
                    PENDING_CUSTOMER if roll < 0.5 else SOLVED if roll < 0.6 else None
                )
            elif upcoming is None and status == PENDING_CUSTOMER:
                submit_as = PENDING_CUSTOMER
            elif upcoming is None and status in RESOLVED:
                submit_as = SOLVED if random_() < 0.7 else None
            if submit_as is None and state == NEW:
                set_status(at, OPEN, agent, "desk_reply")
            elif submit_as is not None and submit_as != state:
                set_status(at, submit_as, agent)
        elif role == "note":
            clock += 30 + expovariate(1 / (2 * 3600))
            at = clock
            author = engineer if ticket.escalated_project and random_() < 0.5 else agent
            text_ = body(replies.notes)
            steps.append(
                (
                    at,
                    MESSAGE_ADDED,
                    author,
                    {"message_kind": INTERNAL},
                    (author, INTERNAL, text_, AGENT_CHANNEL),
                )
            )
        else:  # escalation: the event, the note explaining it, then pending engineering
            clock += 30 + expovariate(1 / (4 * 3600))
            at = clock
            steps.append((at, ESCALATED, agent, {"team": text.project}, None))
            text_ = body(replies.escalations)
            steps.append(
                (
                    at,
                    MESSAGE_ADDED,
                    agent,
                    {"message_kind": INTERNAL},
                    (agent, INTERNAL, text_, AGENT_CHANNEL),
                )
            )
            if state != PENDING_ENGINEERING:
                set_status(at, PENDING_ENGINEERING, agent)
    # 4. Bring it to its final status the way an agent would.
    if status in RESOLVED and state != SOLVED:
        clock += 30 + expovariate(1 / (12 * 3600))
        set_status(clock, SOLVED, agent)
    if status == CLOSED:
        clock += 30 + expovariate(1 / (4 * 86400))
        set_status(clock, CLOSED, None)
    elif status != state:
        clock += 30 + expovariate(1 / 3600)
        set_status(clock, status, agent)
    # 5. Squeeze the story into the time between creation and now, then date it.
    room = max(60.0, (now - created).total_seconds() - 60)
    scale = min(1.0, room / clock) if clock > 0 else 1.0
    messages, events = ticket.messages, ticket.events
    when = created
    for at, kind, actor, data, message in steps:
        when = created + timedelta(seconds=at * scale) if at else created
        if message is not None:
            author, message_kind, text_, message_channel = message
            messages.append(
                PlannedMessage(author, message_kind, text_, message_channel, when)
            )
            events.append(PlannedEvent(kind, actor, when, data, len(messages) - 1))
        else:
            events.append(PlannedEvent(kind, actor, when, data))
    ticket.updated_at = when

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
    replies = {project: _replies(project) for project in shape.projects}
    facts: dict[int, _TextFacts] = {}
    for i in range(tickets):
        position = (shape.text_offset + i) % len(texts)
        text = facts.get(position)
        if text is None:
            source = texts[position]
            text = _text_facts(source, shape, replies[source.project])
            facts[position] = text
        yield _plan_ticket(rng, i, tickets, shape, text, now)
