"""`devdesk seed-load`: a large desk written with bulk inserts, consistent with what
the services would have written. Texts come from a tiny JSONL file written here, so
the tests never depend on the shared data folder."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import timedelta
from io import StringIO
from itertools import pairwise
from statistics import median

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from devdesk import cli
from devdesk.accounts.models import Organization, Team, User
from devdesk.accounts.services import create_api_token
from devdesk.ops import seedload
from devdesk.search.services import match_tickets
from devdesk.tickets.models import Message, Ticket, TicketCounter, TicketEvent
from devdesk.tickets.tests.factories import make_ticket

Status = Ticket.Status
N = 200
TEXTS = [
    ("ALPHA-1", "Broker refuses connections after restart", "Log:\n\nERROR bind failed", "ALPHA"),
    ("ALPHA-2", "Consumer stops receiving messages", "After an hour no message arrives.", "ALPHA"),
    ("ALPHA-3", "Memory leak in the session cache", "", "ALPHA"),
    ("BETA-1", "Query planner picks a full scan", "EXPLAIN shows Seq Scan on events.", "BETA"),
    ("BETA-2", "CLI crashes on an empty config file", "Traceback: KeyError 'host'", "BETA"),
    ("BETA-3", "Timeouts when the cluster rebalances", "Clients time out for 30 s.", "BETA"),
]  # fmt: skip


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "tickets.jsonl"
    path.write_text(
        "\n".join(
            json.dumps({"id": k, "title": t, "body": b, "project": p, "created": ""})
            for k, t, b, p in TEXTS
        )
        + "\n"
    )
    return path


@pytest.fixture
def seed(db, settings, source):
    """``seed(tickets=N, *extra)`` runs the command like a person would; returns its output."""
    settings.DEBUG = True  # pytest-django turns it off; the command wants it on

    def run(tickets: int = N, *extra: str) -> str:
        out = StringIO()
        call_command(
            "seed_load",
            "--tickets", str(tickets), "--source", str(source), "--batch-size", "64",
            *extra, stdout=out,
        )  # fmt: skip
        return out.getvalue()

    return run


def ticket_tables_schema():
    """Indexes, constraints and triggers of the tables a load writes, as the
    database describes them."""
    tables = [
        model._meta.db_table
        for model in (Ticket, Message, TicketEvent, Ticket.tags.through)
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                """
                SELECT 'index', indexrelid::regclass::text, pg_get_indexdef(indexrelid)
                FROM pg_index WHERE indrelid = ANY(%s::regclass[])
                UNION ALL
                SELECT 'constraint', conname,
                       pg_get_constraintdef(oid) || ' valid: ' || convalidated
                FROM pg_constraint WHERE conrelid = ANY(%s::regclass[])
                UNION ALL
                SELECT 'trigger', tgname, tgenabled::text FROM pg_trigger
                WHERE tgrelid = ANY(%s::regclass[]) AND NOT tgisinternal
                ORDER BY 1, 2
                """,
                [tables] * 3,
            )
        else:
            cursor.execute(
                "SELECT type, name, sql FROM sqlite_master "
                "WHERE tbl_name IN (%s, %s, %s, %s) ORDER BY type, name",
                tables,
            )
        return cursor.fetchall()


def snapshot():
    return list(
        Ticket.objects.order_by("number")
        .annotate(m=Count("messages"))
        .values_list("number", "subject", "status", "priority", "m")
    )


def test_a_load_has_sequential_numbers_short_conversations_and_a_real_status_mix(seed):
    output = seed()

    tickets = Ticket.objects.all()
    assert tickets.count() == N
    assert sorted(tickets.values_list("number", flat=True)) == list(
        range(1001, 1001 + N)
    )
    per_ticket = tickets.annotate(m=Count("messages")).values_list("m", flat=True)
    assert min(per_ticket) >= 1
    assert max(per_ticket) <= 20
    assert median(per_ticket) >= 2
    statuses = Counter(tickets.values_list("status", flat=True))
    assert statuses[Status.SOLVED] + statuses[Status.CLOSED] >= 0.8 * N
    assert sum(statuses[s] for s in Ticket.UNRESOLVED_STATUSES) >= 1
    assert f"Seeded {N} tickets (#1001-#{1000 + N})" in output


def test_tickets_spread_over_years_and_organizations_are_skewed(seed):
    seed()

    dates = Ticket.objects.values_list("created_at", flat=True)
    assert max(dates) - min(dates) > timedelta(days=2 * 365)
    assert max(dates) < timezone.now()
    per_org = list(
        Organization.objects.filter(kind=Organization.Kind.CUSTOMER)
        .annotate(n=Count("tickets"))
        .values_list("n", flat=True)
    )
    assert max(per_org) >= 5 * median(per_org)
    domains = Organization.objects.values_list("domains", flat=True)
    assert len(set(domains)) == len(domains)


def test_the_vendor_gets_agents_engineers_and_teams(seed, vendor):
    seed()

    staff = Counter(
        User.objects.filter(organization=vendor).values_list("role", flat=True)
    )
    assert staff[User.Role.AGENT] >= 5
    assert staff[User.Role.ENGINEER] >= 1
    assert staff[User.Role.ADMIN] == 1
    assert Team.objects.filter(
        kind=Team.Kind.ENGINEERING, members__isnull=False
    ).exists()
    assert not Organization.objects.filter(slug="loadtest-vendor").exists()


def test_every_message_is_notified_and_written_on_its_ticket(seed):
    seed()

    assert not Message.objects.filter(notified_at__isnull=True).exists()
    for ticket_id, origin_id in Message.objects.values_list(
        "ticket_id", "origin_ticket_id"
    ):
        assert origin_id == ticket_id


def test_events_have_the_shapes_the_services_write(seed):
    seed()

    events = defaultdict(list)
    for event in TicketEvent.objects.order_by("created_at", "id"):
        events[event.ticket_id].append(event)
    messages = dict(Message.objects.values_list("pk", "ticket_id"))
    for ticket in Ticket.objects.select_related("requester"):
        history = events[ticket.pk]
        assert history[0].kind == TicketEvent.Kind.CREATED
        assert history[0].data == {
            "channel": ticket.channel,
            "requester": ticket.requester.email,
        }
        added = [e for e in history if e.kind == TicketEvent.Kind.MESSAGE_ADDED]
        assert len(added) == ticket.messages.count()
        for event in added:
            assert set(event.data) == {"message_id", "message_kind", "attachments"}
            assert messages[event.data["message_id"]] == ticket.pk
        changes = [e for e in history if e.kind == TicketEvent.Kind.STATUS_CHANGED]
        for before, after in pairwise(changes):
            assert before.data["new"] == after.data["old"]
        if ticket.status != Status.NEW:
            assert set(changes[-1].data) == {"old", "new", "reason"}
            assert changes[-1].data["new"] == ticket.status


def test_ticket_times_match_the_conversation(seed):
    seed()

    for ticket in Ticket.objects.prefetch_related("messages__author"):
        conversation = list(ticket.messages.all())
        desk_replies = [
            m.created_at
            for m in conversation
            if m.kind == Message.Kind.PUBLIC and not m.author.is_customer
        ]
        from_customer = [m.created_at for m in conversation if m.author.is_customer]
        assert ticket.first_response_at == (min(desk_replies) if desk_replies else None)
        assert ticket.last_customer_message_at == max(from_customer)
        assert ticket.updated_at >= conversation[-1].created_at
        assert (ticket.solved_at is not None) == (
            ticket.status in {Status.SOLVED, Status.CLOSED}
        )
        assert (ticket.closed_at is not None) == (ticket.status == Status.CLOSED)
        if ticket.status in {Status.SOLVED, Status.CLOSED}:
            assert desk_replies, "everyone gets an answer before a ticket is solved"


def test_the_same_seed_writes_the_same_desk_into_a_fresh_database(seed, source):
    # given a first load, removed again
    seed()
    first = snapshot()
    Ticket.objects.all().delete()
    User.objects.filter(email__contains="lt1001").delete()
    Organization.objects.filter(slug__startswith="lt1001-").delete()
    Team.objects.filter(slug__endswith="-lt1001").delete()
    TicketCounter.objects.filter(name="ticket").update(value=1000)

    # when loading again with the same seed
    seed()

    # then numbers, subjects, statuses, priorities and conversation lengths repeat,
    # and match what the generator plans without a database
    assert snapshot() == first
    texts = seedload.load_texts(source)
    shape = seedload.shape_desk(tickets=N, seed=seedload.DEFAULT_SEED, texts=texts)
    plans = seedload.iter_ticket_plans(
        tickets=N,
        seed=seedload.DEFAULT_SEED,
        shape=shape,
        texts=texts,
        now=timezone.now(),
    )
    assert [(p.subject, p.status, len(p.messages)) for p in plans] == [
        (subject, status, m) for _, subject, status, _, m in first
    ]


def test_a_load_into_an_empty_desk_leaves_the_schema_as_the_migrations_made_it(
    db, source
):
    before = ticket_tables_schema()

    summary = seedload.seed_load(
        tickets=N, texts=seedload.load_texts(source), batch_size=64
    )

    assert summary.fresh  # indexes, constraints and triggers were set aside
    assert ticket_tables_schema() == before
    assert Ticket.objects.count() == N


def test_a_load_onto_existing_tickets_writes_around_the_indexes(db, source):
    texts = seedload.load_texts(source)
    seedload.seed_load(tickets=10, texts=texts)
    before = ticket_tables_schema()

    summary = seedload.seed_load(tickets=N, texts=texts, batch_size=64)

    assert not summary.fresh
    assert ticket_tables_schema() == before
    assert Ticket.objects.count() == 10 + N


def test_an_interrupted_load_into_an_empty_desk_leaves_no_ticket(db, source):
    before = ticket_tables_schema()

    def interrupt(done: int, seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        seedload.seed_load(
            tickets=N,
            texts=seedload.load_texts(source),
            batch_size=64,
            progress=interrupt,
            progress_every=64,
        )

    assert not Ticket.objects.exists()
    assert not Message.objects.exists()
    assert ticket_tables_schema() == before


def test_a_seeded_desk_is_searchable(seed):
    seed()

    tickets = Ticket.objects.all()
    broker = tickets.filter(subject="Broker refuses connections after restart")
    assert broker.exists()
    assert set(match_tickets(tickets, "broker")) == set(broker)
    # the requester's first message, not the subject
    assert set(match_tickets(tickets, "bind")) == set(broker)


def test_a_load_onto_existing_tickets_indexes_them_for_search(seed):
    seed(10)

    seed()

    broker = Ticket.objects.filter(subject__startswith="Broker refuses")
    assert broker.filter(number__gt=1010).exists()
    assert set(match_tickets(Ticket.objects.all(), "broker")) == set(broker)


@pytest.mark.django_db(transaction=True)
def test_a_load_outside_a_transaction_commits_batches_and_puts_the_schema_back(
    source,
):
    # As the command runs: on PostgreSQL the writer threads commit batch by batch.
    before = ticket_tables_schema()

    summary = seedload.seed_load(
        tickets=N, texts=seedload.load_texts(source), batch_size=64
    )

    assert summary.fresh
    assert ticket_tables_schema() == before
    assert Ticket.objects.count() == N
    assert Message.objects.count() == summary.messages
    assert match_tickets(Ticket.objects.all(), "broker").exists()


def test_another_seed_writes_another_desk(seed):
    seed(50)
    first = [s for _, _, s, *_ in snapshot()]
    Ticket.objects.all().delete()

    seed(50, "--seed", "7")

    assert [s for _, _, s, *_ in snapshot()] != first


def test_tickets_opened_afterwards_continue_the_numbers(seed, acme_customer):
    seed()

    assert make_ticket(acme_customer).number == 1001 + N
    seed(10)
    assert Ticket.objects.order_by("-number").first().number == 1011 + N


def test_the_inbox_the_ticket_page_and_the_api_work_on_a_seeded_desk(
    seed, agent, login, client
):
    seed()
    ticket = Ticket.objects.filter(status=Status.CLOSED).order_by("-number").first()

    assert login(agent).get("/desk/").status_code == 200
    page = client.get(f"/desk/tickets/{ticket.number}/")
    assert page.status_code == 200
    assert ticket.subject in page.content.decode()
    _, token = create_api_token(agent, name="tests")
    client.logout()
    listing = client.get(
        "/api/tickets?limit=20", headers={"Authorization": f"Bearer {token}"}
    )
    assert listing.status_code == 200
    assert len(listing.json()["items"]) == 20


def test_a_missing_source_falls_back_to_built_in_texts(seed, tmp_path):
    output = seed(20, "--source", str(tmp_path / "nowhere.jsonl"))

    assert "not found: using" in output
    builtin = {t.title for t in seedload.BUILTIN_TEXTS}
    assert set(Ticket.objects.values_list("subject", flat=True)) <= builtin


def test_with_debug_off_it_refuses_unless_forced(db, settings, source):
    settings.DEBUG = False
    args = ["seed_load", "--tickets", "5", "--source", str(source)]
    with pytest.raises(CommandError, match="--force"):
        call_command(*args, stdout=StringIO())
    assert not Ticket.objects.exists()

    call_command(*args, "--force", stdout=StringIO())
    assert Ticket.objects.count() == 5


def test_devdesk_seed_load_is_the_command():
    assert cli.ALIASES["seed-load"] == "seed_load"
