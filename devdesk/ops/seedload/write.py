"""Step 2: turn the plans into rows, batch by batch, one transaction per batch."""

from __future__ import annotations

import json
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Field, Model
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
