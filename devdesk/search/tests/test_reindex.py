"""``devdesk search-reindex``, and the triggers it stands behind."""

import sqlite3
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from devdesk.search.backends import sqlite as sqlite_backend
from devdesk.search.services import match_tickets, missing_triggers, sync_paused
from devdesk.tickets.models import Ticket
from devdesk.tickets.tests.factories import make_ticket, reply


def numbers(text: str) -> set[int]:
    return {t.number for t in match_tickets(Ticket.objects.all(), text)}


def reindex_command() -> str:
    out = StringIO()
    call_command("search_reindex", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_reindex_counts_the_tickets_it_indexed(acme_customer):
    make_ticket(acme_customer, subject="One")
    make_ticket(acme_customer, subject="Two")
    assert "Indexed 2 tickets in" in reindex_command()
    assert numbers("two") == {Ticket.objects.get(subject="Two").number}


@pytest.mark.django_db
def test_reindex_puts_back_a_missing_trigger_and_catches_up(acme_customer, agent):
    # given a message written while its trigger was gone
    ticket = make_ticket(acme_customer, subject="Upload fails")
    on = " ON tickets_message" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER search_message_insert{on}")
    reply(ticket, agent, "Try the resumable endpoint.")
    assert missing_triggers() == ["search_message_insert"]
    assert numbers("resumable") == set()
    # when the index is rebuilt
    output = reindex_command()
    # then the trigger is back, the message found, and the next one too
    assert "Sync triggers were missing and are back: search_message_insert" in output
    assert missing_triggers() == []
    assert numbers("resumable") == {ticket.number}
    reply(ticket, agent, "Or raise the chunk size.")
    assert numbers("chunk") == {ticket.number}


def test_django_can_still_copy_a_tickets_table_on_sqlite():
    """Django changes a column on SQLite by copying the table, dropping the old one
    and renaming the copy. That must keep working with search installed (SQLite
    refuses the rename while another table's trigger names the dropped table)."""
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute("PRAGMA legacy_alter_table = OFF")  # as Django sets it
    db.executescript(
        """
        CREATE TABLE tickets_ticket (id INTEGER PRIMARY KEY, subject TEXT);
        CREATE TABLE tickets_message (id INTEGER PRIMARY KEY, ticket_id INT,
            kind TEXT, body TEXT, created_at TEXT);
        """
    )
    sqlite_backend.install(db.cursor())
    for table, columns in [
        ("tickets_ticket", "id INTEGER PRIMARY KEY, subject TEXT, extra INT"),
        (
            "tickets_message",
            "id INTEGER PRIMARY KEY, ticket_id INT, kind TEXT, body TEXT, "
            "created_at TEXT, extra INT",
        ),
    ]:
        db.executescript(
            f"""
            CREATE TABLE new__{table} ({columns});
            DROP TABLE {table};
            ALTER TABLE new__{table} RENAME TO {table};
            """
        )
    # The copies lost their own triggers, which search-reindex puts back.
    assert set(sqlite_backend.missing_triggers(db.cursor())) == {
        name for _, name in sqlite_backend.TRIGGERS
    }
    sqlite_backend.install(db.cursor())
    db.execute("INSERT INTO tickets_ticket (id, subject) VALUES (1, 'Hello')")
    db.execute(
        "INSERT INTO tickets_message (ticket_id, kind, body, created_at) "
        "VALUES (1, 'public', 'walrus', '2025-01-01')"
    )
    found = db.execute(
        "SELECT rowid >> 32 FROM search_ticketfts WHERE search_ticketfts MATCH 'walrus'"
    ).fetchall()
    assert found == [(1,)]


@pytest.mark.django_db
def test_a_bulk_load_can_pause_indexing_and_reindex_once(acme_customer, agent):
    ticket = make_ticket(acme_customer, subject="Indexed as usual")
    with transaction.atomic(), sync_paused():
        loaded = make_ticket(acme_customer, subject="Loaded in bulk")
        reply(ticket, agent, "A reply written during the load: okapi.")
    assert numbers("bulk") == set()
    assert numbers("okapi") == set()
    reindex_command()
    assert numbers("bulk") == {loaded.number}
    assert numbers("okapi") == {ticket.number}
    # after the paused transaction, changes are indexed again
    reply(ticket, agent, "Written after the load: quokka.")
    assert numbers("quokka") == {ticket.number}


@pytest.mark.django_db(transaction=True)
def test_pausing_needs_a_transaction_and_the_test_flush_copes(acme_customer):
    # Outside transaction.atomic() a pause would outlive the caller's writes.
    paused = sync_paused()
    with pytest.raises(RuntimeError, match="open one first"):
        paused.__enter__()
    ticket = make_ticket(acme_customer, subject="Survives until the flush")
    assert numbers("survives") == {ticket.number}
