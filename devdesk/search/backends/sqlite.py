"""SQLite: an FTS5 table with one row per ticket subject and one per message,
kept by triggers.

``search_ticketfts`` has three columns, ``subject``, ``public_text`` (a public
reply) and ``internal_text`` (an internal note). Each row holds one of them: a
ticket's subject, or one message's text in the column its kind says. The rowid
carries the ticket: ``ticket id * 2³²`` for the subject, plus ``1 + message id mod
(2³² - 1)`` for a message (see :data:`SUBJECT_ROWID`, :data:`MESSAGE_ROWID`), so a
match names its ticket (``rowid >> 32``) without reading the row, and a ticket's
rows are one rowid range. Ticket ids stay below 2³¹, which leaves SQLite's 64-bit
rowid room.

A row per message makes adding one cost what indexing that message costs: a row
per ticket would be re-indexed whole on every reply, so each message of a long
conversation would cost more than the one before (10 KB log pastes made the 10th
reply of a ticket cost 3 ms, the 30th 10 ms). A query still matches tickets, not
rows: each required group of terms is its own ``MATCH``, and the tickets that
match all of them, minus those matching an excluded term, are the result
(``INTERSECT`` / ``EXCEPT``), so the words of one query may sit in different
messages as before.

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
from collections.abc import Sequence
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

# The rowids of a ticket's rows (``{t}``: the ticket's id) and of a message's
# (``{m}``: a tickets_message row, such as ``new``). SQL pieces of ours, never input.
TICKET_SPAN = 4294967296  # 2**32
SUBJECT_ROWID = "({t} * 4294967296)"
MESSAGE_ROWID = "({m}.ticket_id * 4294967296 + 1 + {m}.id % 4294967295)"
TICKET_OF_ROWID = "(rowid >> 32)"


def _message_row(m: str) -> str:
    """The values of message ``m``'s row: rowid and the three columns."""
    rowid = MESSAGE_ROWID.format(m=m)
    public = f"CASE WHEN {m}.kind = 'public' THEN {m}.body ELSE '' END"
    internal = f"CASE WHEN {m}.kind = 'public' THEN '' ELSE {m}.body END"
    return f"{rowid}, '', {public}, {internal}"


def _insert_message(m: str) -> str:
    # A stale row with this rowid (left by a copy without triggers) must not make
    # the message's own INSERT fail.
    return (
        f"DELETE FROM {TABLE} WHERE rowid = {MESSAGE_ROWID.format(m=m)}; "  # noqa: S608 - our own SQL pieces
        f"INSERT INTO {TABLE} (rowid, subject, public_text, internal_text) "
        f"VALUES ({_message_row(m)});"
    )


def _delete_message(m: str) -> str:
    return f"DELETE FROM {TABLE} WHERE rowid = {MESSAGE_ROWID.format(m=m)};"  # noqa: S608 - our own SQL pieces


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
    f"""
    CREATE TRIGGER search_ticket_insert AFTER INSERT ON tickets_ticket
    WHEN NOT EXISTS (SELECT 1 FROM search_syncpause) BEGIN
        DELETE FROM {TABLE} WHERE rowid = {SUBJECT_ROWID.format(t="new.id")};
        INSERT INTO {TABLE} (rowid, subject, public_text, internal_text)
        VALUES ({SUBJECT_ROWID.format(t="new.id")}, new.subject, '', '');
    END
    """,  # noqa: S608 - our own SQL pieces, no input
    f"""
    CREATE TRIGGER search_ticket_subject AFTER UPDATE OF subject ON tickets_ticket
    WHEN old.subject IS NOT new.subject
        AND NOT EXISTS (SELECT 1 FROM search_syncpause) BEGIN
        UPDATE {TABLE} SET subject = new.subject
        WHERE rowid = {SUBJECT_ROWID.format(t="new.id")};
    END
    """,  # noqa: S608 - our own SQL pieces, no input
    # Every row of the ticket: its messages are normally deleted first (and their
    # own trigger removed them), but a raw delete must not leave text behind.
    f"""
    CREATE TRIGGER search_ticket_delete AFTER DELETE ON tickets_ticket
    WHEN NOT EXISTS (SELECT 1 FROM search_syncpause) BEGIN
        DELETE FROM {TABLE} WHERE rowid BETWEEN {SUBJECT_ROWID.format(t="old.id")}
            AND {SUBJECT_ROWID.format(t="old.id")} + {TICKET_SPAN - 1};
    END
    """,  # noqa: S608 - our own SQL pieces, no input
    f"""
    CREATE TRIGGER search_message_insert AFTER INSERT ON tickets_message
    WHEN NOT EXISTS (SELECT 1 FROM search_syncpause) BEGIN
        {_insert_message("new")}
    END
    """,  # noqa: S608 - our own SQL pieces, no input
    f"""
    CREATE TRIGGER search_message_update
    AFTER UPDATE OF ticket_id, kind, body ON tickets_message
    WHEN (old.ticket_id IS NOT new.ticket_id OR old.kind IS NOT new.kind
        OR old.body IS NOT new.body)
        AND NOT EXISTS (SELECT 1 FROM search_syncpause) BEGIN
        {_delete_message("old")}
        {_insert_message("new")}
    END
    """,  # noqa: S608 - our own SQL pieces, no input
    f"""
    CREATE TRIGGER search_message_delete AFTER DELETE ON tickets_message
    WHEN NOT EXISTS (SELECT 1 FROM search_syncpause) BEGIN
        {_delete_message("old")}
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
    """Rebuild every row from the tickets and messages with one ``INSERT … SELECT``;
    returns how many tickets. SQLite has one writer at a time, so nothing changes meanwhile, and readers
    see the old index until the caller's transaction commits.

    The table is dropped and created again: FTS5 would delete old rows one by one.
    The triggers name it and find the new one.
    """
    cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
    cursor.execute(CREATE_TABLE)
    cursor.execute(
        f"INSERT INTO {TABLE} (rowid, subject, public_text, internal_text) "  # noqa: S608 - constant names
        f"SELECT {SUBJECT_ROWID.format(t='t.id')}, t.subject, '', '' "
        "FROM tickets_ticket t "
        f"UNION ALL SELECT {_message_row('m')} FROM tickets_message m"
    )
    cursor.execute(
        "INSERT INTO search_ticketfts (search_ticketfts) VALUES ('optimize')"
    )
    cursor.execute("SELECT count(*) FROM tickets_ticket")
    count: int = cursor.fetchone()[0]
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


def _fts5_terms(terms: Sequence[Term], *, include_internal: bool) -> str:
    """Any of ``terms`` as an FTS5 query: each a quoted phrase, operators ours."""
    expression = "(" + " OR ".join(_phrase(t) for t in terms) + ")"
    if not include_internal:
        expression = "{" + " ".join(PUBLIC_COLUMNS) + "} : " + expression
    return expression


def _tickets_matching(
    terms: Sequence[Term], *, include_internal: bool
) -> tuple[str, str]:
    return (
        f"SELECT {TICKET_OF_ROWID} FROM {TABLE} WHERE {TABLE} MATCH %s",  # noqa: S608 - constant names
        _fts5_terms(terms, include_internal=include_internal),
    )


def match_sql(query: SearchQuery, *, include_internal: bool) -> tuple[str, list[Any]]:
    """A subquery of the ids of matching tickets: those with a row matching each
    required group, minus those with a row matching an excluded term. One group
    and no exclusion (most searches) is one ``MATCH``, whose ids may repeat."""
    parts = [
        _tickets_matching(group, include_internal=include_internal)
        for group in query.required
    ]
    sql = " INTERSECT ".join(part for part, _ in parts)
    params = [param for _, param in parts]
    if query.excluded:
        part, param = _tickets_matching(
            query.excluded, include_internal=include_internal
        )
        sql, params = f"{sql} EXCEPT {part}", [*params, param]
    return sql, params


def first_matches(
    cursor: Any, query: SearchQuery, *, include_internal: bool, limit: int
) -> list[int]:
    """Ids of up to ``limit`` matching tickets (FTS5 stops reading there when the
    query is one ``MATCH``; a compound one is read whole)."""
    sql, params = match_sql(query, include_internal=include_internal)
    if len(params) == 1:
        sql = sql.replace("SELECT ", "SELECT DISTINCT ", 1)
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
    """Per ticket, in ticket order: its id, subject, public and internal text (its
    messages' rows joined in rowid order), for comparing two builds."""
    cursor.execute(
        "SELECT ticket, group_concat(subject, ''), "  # noqa: S608 - constant names
        "coalesce(group_concat(nullif(public_text, ''), char(10)), ''), "
        "coalesce(group_concat(nullif(internal_text, ''), char(10)), '') "
        f"FROM (SELECT {TICKET_OF_ROWID} AS ticket, subject, public_text, "
        f"internal_text FROM {TABLE} ORDER BY rowid) GROUP BY ticket ORDER BY ticket"
    )
    return [tuple(row) for row in cursor.fetchall()]
