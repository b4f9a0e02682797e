"""Step 2: turn the plans into rows, batch by batch."""

from __future__ import annotations

import gc
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from devdesk.accounts.models import Organization, Team, User

# Writing
from devdesk.ops.seedload.defaults import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_SEED,
    LOAD_PASSWORD,
    SPAN_DAYS,
    Kind,
)
from devdesk.ops.seedload.insert import Inserter
from devdesk.ops.seedload.plan import (
    FIRST_NAMES,
    LAST_NAMES,
    TAG_NAMES,
    DeskShape,
    Person,
    PlannedTicket,
    iter_ticket_plans,
    product_name,
    shape_desk,
)
from devdesk.ops.seedload.texts import BUILTIN_TEXTS, SourceText
from devdesk.search.services import reindex
from devdesk.tickets.models import (
    Message,
    Product,
    Tag,
    Ticket,
    TicketCounter,
    TicketEvent,
)


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
    # Loaded into empty tables, with indexes, constraints and triggers set aside.
    fresh: bool = False
    # After the last batch was made: writing it, putting indexes back, rebuilding.
    finish_seconds: float = 0.0


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


class _EventData:
    """Event data as the JSON text ``json.dumps`` writes, mostly from small caches:
    a million ``json.dumps`` calls cost more than writing the rows."""

    def __init__(self, cast: _Cast) -> None:
        self.cast = cast
        self.strings: dict[str, str] = {}
        self.known: dict[tuple[Any, ...], str] = {}

    def string(self, value: str) -> str:
        text = self.strings.get(value)
        if text is None:
            text = self.strings[value] = json.dumps(value)
        return text

    def message_added(self, message_id: int, kind: str) -> str:
        return (
            f'{{"message_id": {message_id}, "message_kind": {self.string(kind)}, '
            '"attachments": 0}'
        )

    def created(self, channel: str, requester_email: str) -> str:
        return (
            f'{{"channel": {self.string(channel)}, '
            f'"requester": {self.string(requester_email)}}}'
        )

    def escalated(self, project: str) -> str:
        key = (Kind.ESCALATED, project)
        text = self.known.get(key)
        if text is None:
            team_id, team_name = self.cast.eng_teams[project]
            text = json.dumps({"team": {"id": team_id, "name": team_name}})
            self.known[key] = text
        return text

    def tags_changed(self, data: dict[str, Any]) -> str:
        key = (Kind.TAGS_CHANGED, tuple(data["added"]), tuple(data["removed"]))
        text = self.known.get(key)
        if text is None:
            text = self.known[key] = json.dumps(data)
        return text

    def status_changed(self, data: dict[str, str]) -> str:
        key = tuple(data.items())
        text = self.known.get(key)
        if text is None:
            text = self.known[key] = json.dumps(data)
        return text


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
CREATED, ESCALATED = Kind.CREATED, Kind.ESCALATED
STATUS_CHANGED, TAGS_CHANGED = Kind.STATUS_CHANGED, Kind.TAGS_CHANGED
TABLES = [
    Ticket._meta.db_table,
    Message._meta.db_table,
    TicketEvent._meta.db_table,
    Ticket.tags.through._meta.db_table,
]


def _write_batch(
    plans: list[PlannedTicket],
    *,
    first_number: int,
    cast: _Cast,
    staff: dict[Person | None, int | None],
    event_data: _EventData,
    db: Inserter,
) -> tuple[int, int]:
    """Insert one batch of planned tickets with their messages, events and tags."""
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
                plan.created_at,
                plan.updated_at,
                plan.last_customer_message_at,
                plan.first_response_at,
                plan.solved_at,
                plan.closed_at,
            )
        )
    ticket_ids = db.insert(Ticket, TICKET_FIELDS, ticket_rows, returning=True)
    message_rows: list[tuple[Any, ...]] = []
    for ticket_id, plan in zip(ticket_ids, plans, strict=True):
        requester_id = cast.people[plan.org][plan.requester][0]
        message_rows.extend(
            (
                ticket_id,
                ticket_id,
                staff.get(m.author, requester_id),
                m.kind,
                m.body,
                m.channel,
                m.at,
                m.at,
            )
            for m in plan.messages
        )
    message_ids = db.insert(Message, MESSAGE_FIELDS, message_rows, returning=True)
    event_rows: list[tuple[Any, ...]] = []
    links: list[tuple[int, int]] = []
    position = 0
    message_added, created = event_data.message_added, event_data.created
    for ticket_id, plan in zip(ticket_ids, plans, strict=True):
        requester_id, email = cast.people[plan.org][plan.requester]
        for event in plan.events:
            kind, data = event.kind, event.data
            if event.message is not None:
                text = message_added(
                    message_ids[position + event.message], data["message_kind"]
                )
            elif kind == STATUS_CHANGED:
                text = event_data.status_changed(data)
            elif kind == CREATED:
                text = created(data["channel"], email)
            elif kind == ESCALATED:
                text = event_data.escalated(data["team"])
            elif kind == TAGS_CHANGED:
                text = event_data.tags_changed(data)
            else:
                text = json.dumps(data)
            event_rows.append(
                (ticket_id, staff.get(event.actor, requester_id), kind, text, event.at)
            )
        position += len(plan.messages)
        links.extend((ticket_id, cast.tag_ids[name]) for name in plan.tags)
    db.insert(TicketEvent, EVENT_FIELDS, event_rows)
    db.insert(Ticket.tags.through, ("ticket", "tag"), links)
    return len(message_rows), len(event_rows)


def _analyze() -> None:
    """Fresh statistics for the planner: the tables grew from nothing."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # Sampled, as PRAGMA optimize does, instead of reading every index whole.
            cursor.execute("PRAGMA analysis_limit = 1000")
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA analysis_limit = 0")
            cursor.execute("PRAGMA optimize")
        else:
            with transaction.atomic():
                cursor.execute("SET LOCAL statement_timeout = 0")
                cursor.execute("ANALYZE")


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
    opened during or after the load never collide. No event subscriber runs and
    nothing is enqueued; every message counts as notified.

    Into a fresh database (no tickets, messages or events yet) indexes and
    constraints are set aside and rebuilt at the end (see :mod:`.set_aside`). Each
    batch is its own transaction, except that a load into a fresh database on one
    connection (SQLite, or inside a transaction) is one: an interrupted load leaves
    whole tickets (or none), and a gap in the numbers. Statistics are refreshed at
    the end.
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
    staff: dict[Person | None, int | None] = {None: None}
    staff.update((Person("agent", k), pk) for k, pk in enumerate(cast.agent_ids))
    staff.update((Person("engineer", k), pk) for k, pk in enumerate(cast.engineer_ids))
    event_data = _EventData(cast)
    plans = iter_ticket_plans(
        tickets=tickets, seed=seed, shape=shape, texts=texts, now=now
    )
    # Inside an outer transaction (tests) another connection could not see the
    # people the tickets point to, so the background writer is for real runs only.
    db = Inserter(
        tables=TABLES,
        background=not connection.in_atomic_block,
        # Where the search triggers are set aside (SQLite), the index is built once.
        rebuild=[reindex],
        # A ticket's messages first: statement triggers that keep per-ticket data
        # (the search index) then see each ticket whole, once.
        last=[Ticket._meta.db_table],
    )

    def batches() -> Iterator[int]:
        done = 0
        next_report = progress_every
        while done < tickets:
            batch = [next(plans) for _ in range(min(batch_size, tickets - done))]
            messages, events = _write_batch(
                batch,
                first_number=first + done,
                cast=cast,
                staff=staff,
                event_data=event_data,
                db=db,
            )
            summary.messages += messages
            summary.events += events
            summary.statuses.update(p.status for p in batch)
            done += len(batch)
            yield done
            if progress is not None and (done >= next_report or done == tickets):
                progress(done, time.monotonic() - started)
                next_report = (done // progress_every + 1) * progress_every
        summary.tickets = done
        summary.finish_seconds = time.monotonic()

    # The load makes millions of short-lived objects and no reference cycles: the
    # cycle collector would only walk the live ones again and again (a third of
    # the load's time). What exists now is frozen out of its sight for good measure.
    collecting = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        db.run(batches())
    finally:
        gc.unfreeze()
        if collecting:
            gc.enable()
    summary.fresh = db.fresh
    summary.finish_seconds = time.monotonic() - summary.finish_seconds
    _analyze()
    summary.seconds = time.monotonic() - started
    return summary
