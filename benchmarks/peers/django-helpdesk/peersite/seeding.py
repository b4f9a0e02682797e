"""Copy a devdesk database into django-helpdesk's models (``peer seed``).

devdesk → helpdesk:

- agents, admins, engineers and partner agents → Django staff users (same ids,
  e-mail as username, same password hash, so the seed-load password works);
  customers stay e-mail addresses (``submitter_email``), as helpdesk keeps them;
- products → queues (plus one "No product" queue if some ticket has none);
- ticket subject → title, first message → description, every later message →
  a follow-up (internal notes private), ids, dates, assignee kept; statuses and
  priorities mapped (see ``STATUS`` and ``PRIORITY``).

Tickets are read in id order, ``batch_size`` at a time with their messages, and
written with ``bulk_create`` in one transaction per batch, so memory stays flat.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO

from django.contrib.auth.models import User
from django.core.management.color import no_style
from django.db import connection, models, transaction
from helpdesk.models import FollowUp, Queue, Ticket, UserSettings

from peersite import bench
from peersite.source import Row, Source, aware

STAFF_ROLES = frozenset({"admin", "agent", "engineer", "partner_agent"})

# devdesk status → (helpdesk status, on hold). helpdesk has no "pending": a ticket
# waiting on the customer or on engineering stays Open and is put on hold.
STATUS: dict[str, tuple[int, bool]] = {
    "new": (Ticket.OPEN_STATUS, False),
    "open": (Ticket.OPEN_STATUS, False),
    "pending_customer": (Ticket.OPEN_STATUS, True),
    "pending_engineering": (Ticket.OPEN_STATUS, True),
    "solved": (Ticket.RESOLVED_STATUS, False),
    "closed": (Ticket.CLOSED_STATUS, False),
}
# devdesk 1 low .. 4 urgent → helpdesk 1 critical .. 5 very low.
PRIORITY = {4: 1, 3: 2, 2: 3, 1: 4}
NO_PRODUCT_SLUG = "no-product"
TITLE_MAX = 200  # helpdesk's Ticket.title; its save() cuts longer ones like this


class SeedError(Exception):
    """The peer database cannot be seeded as it is (a half-finished earlier seed)."""


@dataclass
class People:
    """Every devdesk person's e-mail, and which of them became staff users."""

    emails: dict[int, str] = field(default_factory=dict)
    staff_ids: set[int] = field(default_factory=set)


@dataclass
class Counts:
    staff: int = 0
    queues: int = 0
    tickets: int = 0
    followups: int = 0
    private: int = 0


def seed(source: Source, *, batch_size: int, progress_every: int, out: TextIO) -> None:
    started = time.perf_counter()
    total = int(source.value("SELECT COUNT(*) FROM tickets_ticket"))
    if _already_seeded(total, out):
        return
    out.write(f"Seeding django-helpdesk from {source.description}: {total:,} tickets\n")
    counts = Counts()
    people = _copy_staff(source, counts)
    queue_of = _copy_queues(source, counts)
    merges: list[tuple[int, int]] = []
    last_id = 0
    next_report = progress_every
    with _keeping_given_dates(Ticket):
        while True:
            tickets = source.rows(
                "SELECT id, subject, status, priority, product_id, requester_id,"
                " assignee_id, merged_into_id, created_at, updated_at"
                " FROM tickets_ticket WHERE id > %s ORDER BY id LIMIT %s",
                (last_id, batch_size),
            )
            if not tickets:
                break
            last_id = tickets[-1][0]
            messages = source.rows(
                "SELECT id, ticket_id, author_id, kind, body, created_at"
                " FROM tickets_message WHERE ticket_id >= %s AND ticket_id <= %s"
                " ORDER BY ticket_id, created_at, id",
                (tickets[0][0], last_id),
            )
            _write_batch(tickets, messages, people, queue_of, counts)
            merges += [(row[0], row[7]) for row in tickets if row[7] is not None]
            if counts.tickets >= next_report:
                out.write(
                    f"  {counts.tickets:,} / {total:,} tickets, "
                    f"{counts.followups:,} follow-ups, "
                    f"{time.perf_counter() - started:.0f} s\n"
                )
                out.flush()
                next_report += progress_every
    _link_merges(merges)
    _reset_sequences()
    _ensure_bench_agent()
    seconds = time.perf_counter() - started
    out.write(
        f"Seeded {counts.tickets:,} tickets in {counts.queues} queues, "
        f"{counts.followups:,} follow-ups ({counts.private:,} private) and "
        f"{counts.staff} staff users, plus {bench.USERNAME!r}, "
        f"in {seconds:.1f} s ({counts.tickets / max(seconds, 1e-9):,.0f} tickets/s).\n"
    )


def _already_seeded(source_tickets: int, out: TextIO) -> bool:
    """bench-agent is written last, so it marks a finished seed."""
    have = Ticket.objects.count()
    if User.objects.filter(username=bench.USERNAME).exists():
        out.write(
            f"Already seeded: {have:,} tickets here ({source_tickets:,} in the "
            "source, more here once tickets were created); nothing to do.\n"
        )
        return True
    if have or User.objects.exists():
        raise SeedError(
            f"the peer database holds {have:,} tickets but no {bench.USERNAME!r}: "
            "an unfinished seed? Seed into a freshly migrated database"
        )
    return False


def _copy_staff(source: Source, counts: Counts) -> People:
    """Staff users with devdesk's ids; customers stay e-mail addresses."""
    people = People()
    staff: list[User] = []
    for row in source.rows(
        "SELECT id, email, role, name, password, is_superuser, is_active,"
        " last_login, date_joined FROM accounts_user ORDER BY id"
    ):
        person_id, email, role, name = row[0], row[1], row[2], row[3] or ""
        people.emails[person_id] = email
        if role not in STAFF_ROLES:
            continue
        first, _, last = name.partition(" ")
        staff.append(
            User(
                id=person_id,
                username=email[:150],
                email=email,
                first_name=first[:150],
                last_name=last[:150],
                password=row[4],
                is_staff=True,
                is_superuser=bool(row[5]),
                is_active=bool(row[6]),
                last_login=aware(row[7]),
                date_joined=aware(row[8]),
            )
        )
    with transaction.atomic():
        User.objects.bulk_create(staff, batch_size=500)
        # helpdesk makes these in a post_save signal, which bulk_create skips.
        UserSettings.objects.bulk_create(
            [UserSettings(user_id=user.pk) for user in staff], batch_size=500
        )
    counts.staff = len(staff)
    people.staff_ids = {user.pk for user in staff}
    return people


def _copy_queues(source: Source, counts: Counts) -> dict[int | None, int]:
    """One queue per product, through Queue.save() (it adds a permission per queue)."""
    queue_of: dict[int | None, int] = {}
    for product_id, name, slug in source.rows(
        "SELECT id, name, slug FROM tickets_product ORDER BY id"
    ):
        queue_of[product_id] = Queue.objects.create(title=name, slug=slug[:50]).id
    if source.value("SELECT COUNT(*) FROM tickets_ticket WHERE product_id IS NULL"):
        queue_of[None] = Queue.objects.create(
            title="No product", slug=NO_PRODUCT_SLUG
        ).id
    counts.queues = len(queue_of)
    return queue_of


def _write_batch(
    tickets: list[Row],
    messages: list[Row],
    people: People,
    queue_of: dict[int | None, int],
    counts: Counts,
) -> None:
    description: dict[int, str] = {}
    followups: list[FollowUp] = []
    for message in messages:
        ticket_id, body = message[1], message[4]
        if ticket_id in description:
            followups.append(_followup(message, people))
        else:
            description[ticket_id] = body
    rows = []
    for row in tickets:
        ticket_id, subject, status, priority, product_id, requester_id = row[:6]
        assignee_id, _merged_into, created_at, updated_at = row[6:]
        helpdesk_status, on_hold = STATUS[status]
        rows.append(
            Ticket(
                id=ticket_id,
                title=_title(subject),
                queue_id=queue_of[product_id],
                created=aware(created_at),
                modified=aware(updated_at),
                submitter_email=people.emails.get(requester_id),
                assigned_to_id=assignee_id if assignee_id in people.staff_ids else None,
                status=helpdesk_status,
                on_hold=on_hold,
                description=description.get(ticket_id, ""),
                priority=PRIORITY.get(priority, 3),
            )
        )
    with transaction.atomic():
        Ticket.objects.bulk_create(rows, batch_size=1000)
        FollowUp.objects.bulk_create(followups, batch_size=1000)
    counts.tickets += len(rows)
    counts.followups += len(followups)
    counts.private += sum(1 for f in followups if not f.public)


def _followup(message: Row, people: People) -> FollowUp:
    """A staff message as a staff comment; a customer's as helpdesk files a reply
    from the submitter (no user, a message id, "E-Mail Received from ...")."""
    message_id, ticket_id, author_id, kind, body, created_at = message
    public = kind == "public"
    if author_id in people.staff_ids or author_id is None:
        return FollowUp(
            id=message_id,
            ticket_id=ticket_id,
            date=aware(created_at),
            title="Comment",
            comment=body,
            public=public,
            user_id=author_id,
        )
    return FollowUp(
        id=message_id,
        ticket_id=ticket_id,
        date=aware(created_at),
        title=f"E-Mail Received from {people.emails.get(author_id, '')}"[:200],
        comment=body,
        public=public,
        message_id=f"<devdesk-message-{message_id}@peer.invalid>",
    )


def _title(subject: str) -> str:
    return subject if len(subject) <= TITLE_MAX else subject[: TITLE_MAX - 3] + "..."


def _link_merges(merges: list[tuple[int, int]]) -> None:
    """devdesk's merged tickets as helpdesk's duplicates, once every ticket exists."""
    with transaction.atomic():
        for ticket_id, into_id in merges:
            Ticket.objects.filter(id=ticket_id).update(
                merged_to_id=into_id, status=Ticket.DUPLICATE_STATUS
            )


def _reset_sequences() -> None:
    """Rows were written with devdesk's ids; new ones must continue after them."""
    statements = connection.ops.sequence_reset_sql(
        no_style(), [User, Ticket, FollowUp, UserSettings]
    )
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def _ensure_bench_agent() -> None:
    user = User.objects.filter(username=bench.USERNAME).first()
    if user is None:
        user = User(username=bench.USERNAME)
    user.email = bench.EMAIL
    user.is_staff = True
    user.is_active = True
    user.set_password(bench.PASSWORD)
    user.save()  # its post_save signal gives it helpdesk's UserSettings


@contextmanager
def _keeping_given_dates(model: type[models.Model]) -> Iterator[None]:
    """Turn off auto_now/auto_now_add so bulk_create keeps devdesk's dates."""
    fields = [
        date_field
        for date_field in model._meta.concrete_fields
        if getattr(date_field, "auto_now", False)
        or getattr(date_field, "auto_now_add", False)
    ]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]  # type: ignore[attr-defined]
    for date_field in fields:
        date_field.auto_now = date_field.auto_now_add = False  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for date_field, auto_now, auto_now_add in saved:
            date_field.auto_now = auto_now  # type: ignore[attr-defined]
            date_field.auto_now_add = auto_now_add  # type: ignore[attr-defined]
