"""SQLite: an FTS5 table with one row per ticket, kept by triggers.

``search_ticketfts`` has three columns, ``subject``, ``public_text`` (the public
replies) and ``internal_text`` (internal notes); its rowid is the ticket's id.
Customers' queries carry a column filter, ``{subject public_text} : (…)``, so an
internal note can neither match for them nor, through ``-word``, make a ticket
disappear. The Porter stemmer matches "timeouts" to "timeout", as PostgreSQL's
English configuration does.

The FTS5 table keeps its own copy of the text. That costs disk, but it makes every
trigger simple and safe: FTS5 removes exactly what it indexed, and the triggers never
need to know what a document looked like before.

Each trigger reads only its own table and the FTS table. Django changes a column on
SQLite by copying the table, dropping it and renaming the copy, and SQLite refuses
that rename while a trigger on *another* table names the dropped one; the triggers
of the copied table itself are dropped with it. :func:`missing_triggers` notices,
and ``devdesk search-reindex`` puts them back.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from django.db.models import BigIntegerField, F, Func, QuerySet
from django.db.models.expressions import RawSQL

from devdesk.search.query import SearchQuery, Term

Q = TypeVar("Q", bound=QuerySet[Any])

TABLE = "search_ticketfts"
PUBLIC_COLUMNS = ("subject", "public_text")
TRIGGERS = (
    ("tickets_ticket", "search_ticket_insert"),
    ("tickets_ticket", "search_ticket_subject"),
    ("tickets_ticket", "search_ticket_delete"),
    ("tickets_message", "search_message_insert"),
    ("tickets_message", "search_message_update"),
    ("tickets_message", "search_message_delete"),
)

# The conversation text of ticket ``{ticket}``, in order; everything that is not a
# public reply (internal notes, and any kind added later) counts as internal.
_TEXT = (
    "coalesce((SELECT group_concat(body, char(10)) FROM ("
    "SELECT body FROM tickets_message WHERE ticket_id = {ticket} AND kind {kind} "
    "ORDER BY created_at, id)), '')"
)
PUBLIC_TEXT = _TEXT.replace("{kind}", "= 'public'")
INTERNAL_TEXT = _TEXT.replace("{kind}", "<> 'public'")


def _refresh_conversation(ticket: str) -> str:
    """SQL that rewrites the conversation columns of ``ticket`` (a column reference
    of ours, such as ``new.ticket_id``; never input)."""
    public = PUBLIC_TEXT.format(ticket=ticket)
    internal = INTERNAL_TEXT.format(ticket=ticket)
    return f"UPDATE search_ticketfts SET public_text = {public}, internal_text = {internal} WHERE rowid = {ticket};"  # noqa: S608


CREATE_TABLE = f"""
    CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5(
        subject, public_text, internal_text,
        tokenize = 'porter unicode61 remove_diacritics 2'
    )
"""

# A bulk loader may pause the triggers inside its own transaction (see
# services.sync_paused): the row it adds is seen by nobody else, since SQLite has
# one writer at a time and the row is gone again before the commit.
CREATE_PAUSE_TABLE = (
    "CREATE TABLE IF NOT EXISTS search_syncpause (id INTEGER PRIMARY KEY)"
)

INSTALL = [
    CREATE_TABLE,
    CREATE_PAUSE_TABLE,
    *(f"DROP TRIGGER IF EXISTS {name}" for _, name in TRIGGERS),
    # A stale row with this id (left by a copy without triggers) must not make the
    # ticket's own INSERT fail.
    """
    CREATE TRIGGER search_ticket_insert AFTER INSERT ON tickets_ticket
    WHEN NOT EXISTS (SELECT 1 FROM search_syncpause) BEGIN
        DELETE FROM search_ticketfts WHERE rowid = new.id;
        INSERT INTO search_ticketfts (rowid, subject, public_text, internal_text)
        VALUES (new.id, new.subject, '', '');
    END
    """,
    """
    CREATE TRIGGER search_ticket_subject AFTER UPDATE OF subject ON tickets_ticket
    WHEN old.subject IS NOT new.subject
        AND NOT EXISTS (SELECT 1 FROM search_syncpause) BEGIN
        UPDATE search_ticketfts SET subject = new.subject WHERE rowid = new.id;
    END
    """,
    """
    CREATE TRIGGER search_ticket_delete AFTER DELETE ON tickets_ticket
    WHEN NOT EXISTS (SELECT 1 FROM search_syncpause) BEGIN
        DELETE FROM search_ticketfts WHERE rowid = old.id;
    END
    """,
    f"""
    CREATE TRIGGER search_message_insert AFTER INSERT ON tickets_message
    WHEN NOT EXISTS (SELECT 1 FROM search_syncpause) BEGIN
        {_refresh_conversation("new.ticket_id")}
    END
    """,  # noqa: S608 - our own SQL pieces, no input
    f"""
    CREATE TRIGGER search_message_update
    AFTER UPDATE OF ticket_id, kind, body ON tickets_message
    WHEN (old.ticket_id IS NOT new.ticket_id OR old.kind IS NOT new.kind
        OR old.body IS NOT new.body)
        AND NOT EXISTS (SELECT 1 FROM search_syncpause) BEGIN
        {_refresh_conversation("old.ticket_id")}
        {_refresh_conversation("new.ticket_id")}
    END
    """,  # noqa: S608 - our own SQL pieces, no input
    f"""
    CREATE TRIGGER search_message_delete AFTER DELETE ON tickets_message
    WHEN NOT EXISTS (SELECT 1 FROM search_syncpause) BEGIN
        {_refresh_conversation("old.ticket_id")}
    END
    """,  # noqa: S608 - our own SQL pieces, no input
]

UNINSTALL = [
    *(f"DROP TRIGGER IF EXISTS {name}" for _, name in TRIGGERS),
    f"DROP TABLE IF EXISTS {TABLE}",
    "DROP TABLE IF EXISTS search_syncpause",
]


def install(cursor: Any) -> None:
    """Create the FTS5 table if missing and (re)create every trigger."""
    for statement in INSTALL:
        cursor.execute(statement)


def uninstall(cursor: Any) -> None:
    for statement in UNINSTALL:
        cursor.execute(statement)


def rebuild(cursor: Any) -> int:
    """Rebuild every row from the tickets with one ``INSERT … SELECT``; returns how
    many. SQLite has one writer at a time, so nothing changes meanwhile, and readers
    see the old index until the caller's transaction commits.

    The table is dropped and created again: FTS5 would delete old rows one by one.
    The triggers name it and find the new one.
    """
    cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
    cursor.execute(CREATE_TABLE)
    cursor.execute(
        f"INSERT INTO {TABLE} (rowid, subject, public_text, internal_text) "  # noqa: S608 - constant names
        f"SELECT t.id, t.subject, {PUBLIC_TEXT.format(ticket='t.id')}, "
        f"{INTERNAL_TEXT.format(ticket='t.id')} FROM tickets_ticket t"
    )
    count: int = cursor.rowcount
    cursor.execute(
        "INSERT INTO search_ticketfts (search_ticketfts) VALUES ('optimize')"
    )
    return count


def pause_sync(cursor: Any) -> None:
    """Stop the triggers until :func:`resume_sync`, in the same transaction."""
    cursor.execute("INSERT OR IGNORE INTO search_syncpause (id) VALUES (1)")


def resume_sync(cursor: Any) -> None:
    cursor.execute("DELETE FROM search_syncpause")


def missing_triggers(cursor: Any) -> list[str]:
    cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    present = {row[0] for row in cursor.fetchall()}
    return [name for _, name in TRIGGERS if name not in present]


def _phrase(term: Term) -> str:
    # Words hold letters and digits only, so the quotes cannot be broken out of.
    return '"' + " ".join(term.words()) + '"'


def fts5_expression(query: SearchQuery, *, include_internal: bool) -> str:
    """``query`` as an FTS5 query: every term a quoted phrase, operators added by us."""
    expression = " AND ".join(
        "(" + " OR ".join(_phrase(t) for t in group) + ")" for group in query.required
    )
    if query.excluded:
        excluded = " OR ".join(_phrase(t) for t in query.excluded)
        expression = f"({expression}) NOT ({excluded})"
    if not include_internal:
        expression = "{" + " ".join(PUBLIC_COLUMNS) + "} : (" + expression + ")"
    return expression


def match_sql(query: SearchQuery, *, include_internal: bool) -> tuple[str, list[Any]]:
    """A subquery of the ids of matching tickets."""
    return (
        f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH %s",  # noqa: S608 - constant names
        [fts5_expression(query, include_internal=include_internal)],
    )


def first_matches(
    cursor: Any, query: SearchQuery, *, include_internal: bool, limit: int
) -> list[int]:
    """Ids of up to ``limit`` matching tickets (FTS5 stops reading there)."""
    sql, params = match_sql(query, include_internal=include_internal)
    cursor.execute(f"{sql} LIMIT %s", [*params, limit])
    return [row[0] for row in cursor.fetchall()]


def estimated_matches(
    cursor: Any, query: SearchQuery, *, include_internal: bool
) -> int | None:
    """FTS5 offers no estimate; the index is asked (``first_matches``)."""
    return None


def few_matches(cursor: Any) -> int:
    """Up to how many matches a list is best narrowed by id (see
    ``services.match_tickets``). Fetching and sorting by id costs ~7 µs a match;
    walking the sort index ~0.4 µs a ticket, 51 x tickets / matches of them, plus
    ~0.5 µs a match to read the matches. They cost the same at ~2 √tickets
    matches: about 600 at 100k tickets (the highest ticket id counts them)."""
    cursor.execute("SELECT max(id) FROM tickets_ticket")
    row = cursor.fetchone()
    tickets = float(row[0] or 0) if row else 0.0
    return int(min(max(2 * tickets**0.5, 200), 5_000))


def narrow_to_few(tickets: Q, ids: list[int]) -> Q:
    """``tickets`` limited to ``ids`` (fetched by rowid, then sorted), given as one
    JSON parameter: older SQLite builds allow only 999 parameters a statement."""
    return tickets.filter(
        pk__in=RawSQL("SELECT value FROM json_each(%s)", [json.dumps(ids)])
    )


def narrow_to_many(tickets: Q, sql: str, params: list[Any]) -> Q:
    """``tickets`` limited to the ids ``sql`` selects, when those are many.

    SQLite would loop over the matches and sort them all; ``+id`` (the same value,
    but not an indexed column any more) makes it walk the list's sort index instead
    and test each ticket against the matches, stopping after one page.
    """
    unindexed = Func(
        F("pk"), template="+%(expressions)s", output_field=BigIntegerField()
    )
    return tickets.alias(search_id=unindexed).filter(
        search_id__in=RawSQL(sql, params)  # noqa: S611 - input only as params
    )


def snapshot(cursor: Any) -> list[tuple[Any, ...]]:
    """Every row, in ticket order (for comparing two builds)."""
    cursor.execute(
        f"SELECT rowid, subject, public_text, internal_text FROM {TABLE} "  # noqa: S608 - constant names
        "ORDER BY rowid"
    )
    return [tuple(row) for row in cursor.fetchall()]
