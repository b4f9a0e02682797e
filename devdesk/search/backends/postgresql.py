"""PostgreSQL: one row of tsvectors per ticket, GIN-indexed, kept by triggers.

``search_ticketdocument`` holds, per ticket, ``public_vector`` (the subject, weight
A, and the public replies, weight B) and ``internal_vector`` (internal notes, weight
C). Customers' queries read ``public_vector`` only; everyone else reads
``public_vector || internal_vector``, which has its own (expression) GIN index.

The view ``search_ticket_source`` is the one definition of a ticket's document: the
triggers (through ``search_refresh_tickets(ids)``) and the full rebuild both read it,
so an incremental index and a rebuilt one are the same.

Triggers are per statement and read the statement's transition tables, so a merge
that moves 200 messages with one ``UPDATE`` refreshes two documents once each, and a
bulk ``COPY`` of 2,000 messages refreshes their tickets in one set-based statement.
A subject change is a row trigger with a ``WHEN`` clause: other ticket updates
(status, assignee, timestamps) cost nothing. There is no foreign key to the tickets
table (Django's test flush truncates tables it knows without CASCADE); deletes and
truncates are followed by triggers instead.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Lookup, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.sql.compiler import SQLCompiler

from devdesk.search.query import SearchQuery

Q = TypeVar("Q", bound=QuerySet[Any])

CONFIG = "english"
TABLE = "search_ticketdocument"
TRIGGERS = (
    ("tickets_ticket", "search_ticket_insert"),
    ("tickets_ticket", "search_ticket_subject"),
    ("tickets_ticket", "search_ticket_delete"),
    ("tickets_ticket", "search_ticket_truncate"),
    ("tickets_message", "search_message_insert"),
    ("tickets_message", "search_message_update"),
    ("tickets_message", "search_message_delete"),
    ("tickets_message", "search_message_truncate"),
)

# The statements name things literally (no string formatting in SQL). Everything
# that is not a public reply (internal notes, and any kind added later)
# counts as internal: customers never match it.
INSTALL = [
    """
    CREATE TABLE IF NOT EXISTS search_ticketdocument (
        ticket_id bigint PRIMARY KEY,
        public_vector tsvector NOT NULL,
        internal_vector tsvector NOT NULL
    )
    """,
    """
    CREATE INDEX IF NOT EXISTS search_doc_public ON search_ticketdocument
    USING gin (public_vector)
    """,
    """
    CREATE INDEX IF NOT EXISTS search_doc_all ON search_ticketdocument
    USING gin ((public_vector || internal_vector))
    """,
    """
    CREATE OR REPLACE VIEW search_ticket_source AS
    SELECT t.id AS ticket_id,
           setweight(to_tsvector('english', t.subject), 'A')
           || setweight(to_tsvector('english', coalesce(m.public_text, '')), 'B')
               AS public_vector,
           setweight(to_tsvector('english', coalesce(m.internal_text, '')), 'C')
               AS internal_vector
    FROM tickets_ticket t
    LEFT JOIN LATERAL (
        SELECT string_agg(body, E'\\n' ORDER BY created_at, id)
                   FILTER (WHERE kind = 'public') AS public_text,
               string_agg(body, E'\\n' ORDER BY created_at, id)
                   FILTER (WHERE kind <> 'public') AS internal_text
        FROM tickets_message
        WHERE ticket_id = t.id
    ) m ON true
    """,
    """
    CREATE OR REPLACE FUNCTION search_refresh_tickets(ids bigint[]) RETURNS void
    LANGUAGE sql AS $$
        DELETE FROM search_ticketdocument d
        WHERE d.ticket_id = ANY(ids)
          AND NOT EXISTS (SELECT 1 FROM tickets_ticket t WHERE t.id = d.ticket_id);
        INSERT INTO search_ticketdocument (ticket_id, public_vector, internal_vector)
        SELECT ticket_id, public_vector, internal_vector
        FROM search_ticket_source
        WHERE ticket_id = ANY(ids)
        ON CONFLICT (ticket_id) DO UPDATE
        SET public_vector = excluded.public_vector,
            internal_vector = excluded.internal_vector;
    $$
    """,
    # A bulk loader may pause the triggers for its own transaction (see
    # services.sync_paused), then runs search-reindex; everybody else's changes
    # are indexed as usual.
    """
    CREATE OR REPLACE FUNCTION search_sync_paused() RETURNS boolean
    LANGUAGE sql STABLE AS $$
        SELECT coalesce(current_setting('devdesk.search_sync', true), '') = 'off'
    $$
    """,
    # The planner thinks testing a document costs next to nothing (it detoasts and
    # merges two tsvectors, ~7 µs), so with a LIMIT it would rather read the table
    # from the start than ask the GIN index. Here only the index makes sense.
    """
    CREATE OR REPLACE FUNCTION search_first_matches(
        query tsquery, include_internal boolean, how_many integer
    ) RETURNS SETOF bigint
    LANGUAGE plpgsql STABLE SET enable_seqscan = off AS $$
    BEGIN
        IF include_internal THEN
            RETURN QUERY SELECT ticket_id FROM search_ticketdocument
                WHERE (public_vector || internal_vector) @@ query LIMIT how_many;
        ELSE
            RETURN QUERY SELECT ticket_id FROM search_ticketdocument
                WHERE public_vector @@ query LIMIT how_many;
        END IF;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION search_on_ticket_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF search_sync_paused() THEN
            RETURN NULL;
        END IF;
        PERFORM search_refresh_tickets(ARRAY(SELECT id FROM new_rows));
        RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION search_on_ticket_subject() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF search_sync_paused() THEN
            RETURN NULL;
        END IF;
        PERFORM search_refresh_tickets(ARRAY[NEW.id]);
        RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION search_on_ticket_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF search_sync_paused() THEN
            RETURN NULL;
        END IF;
        DELETE FROM search_ticketdocument WHERE ticket_id IN (SELECT id FROM old_rows);
        RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION search_on_ticket_truncate() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF search_sync_paused() THEN
            RETURN NULL;
        END IF;
        TRUNCATE search_ticketdocument;
        RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION search_on_message_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF search_sync_paused() THEN
            RETURN NULL;
        END IF;
        PERFORM search_refresh_tickets(ARRAY(SELECT DISTINCT ticket_id FROM new_rows));
        RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION search_on_message_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        changed bigint[];
    BEGIN
        IF search_sync_paused() THEN
            RETURN NULL;
        END IF;
        -- Most message updates (notification claims) change no text: skip those.
        changed := ARRAY(
            SELECT DISTINCT unnest(ARRAY[o.ticket_id, n.ticket_id])
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE (o.ticket_id, o.kind, o.body) IS DISTINCT FROM
                  (n.ticket_id, n.kind, n.body)
        );
        IF cardinality(changed) > 0 THEN
            PERFORM search_refresh_tickets(changed);
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION search_on_message_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF search_sync_paused() THEN
            RETURN NULL;
        END IF;
        PERFORM search_refresh_tickets(ARRAY(SELECT DISTINCT ticket_id FROM old_rows));
        RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION search_on_message_truncate() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF search_sync_paused() THEN
            RETURN NULL;
        END IF;
        PERFORM search_refresh_tickets(ARRAY(SELECT id FROM tickets_ticket));
        RETURN NULL;
    END $$
    """,
    "DROP TRIGGER IF EXISTS search_ticket_insert ON tickets_ticket",
    """
    CREATE TRIGGER search_ticket_insert AFTER INSERT ON tickets_ticket
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION search_on_ticket_insert()
    """,
    "DROP TRIGGER IF EXISTS search_ticket_subject ON tickets_ticket",
    """
    CREATE TRIGGER search_ticket_subject AFTER UPDATE OF subject ON tickets_ticket
    FOR EACH ROW WHEN (OLD.subject IS DISTINCT FROM NEW.subject)
    EXECUTE FUNCTION search_on_ticket_subject()
    """,
    "DROP TRIGGER IF EXISTS search_ticket_delete ON tickets_ticket",
    """
    CREATE TRIGGER search_ticket_delete AFTER DELETE ON tickets_ticket
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION search_on_ticket_delete()
    """,
    "DROP TRIGGER IF EXISTS search_ticket_truncate ON tickets_ticket",
    """
    CREATE TRIGGER search_ticket_truncate AFTER TRUNCATE ON tickets_ticket
    FOR EACH STATEMENT EXECUTE FUNCTION search_on_ticket_truncate()
    """,
    "DROP TRIGGER IF EXISTS search_message_insert ON tickets_message",
    """
    CREATE TRIGGER search_message_insert AFTER INSERT ON tickets_message
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION search_on_message_insert()
    """,
    "DROP TRIGGER IF EXISTS search_message_update ON tickets_message",
    """
    CREATE TRIGGER search_message_update AFTER UPDATE ON tickets_message
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION search_on_message_update()
    """,
    "DROP TRIGGER IF EXISTS search_message_delete ON tickets_message",
    """
    CREATE TRIGGER search_message_delete AFTER DELETE ON tickets_message
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION search_on_message_delete()
    """,
    "DROP TRIGGER IF EXISTS search_message_truncate ON tickets_message",
    """
    CREATE TRIGGER search_message_truncate AFTER TRUNCATE ON tickets_message
    FOR EACH STATEMENT EXECUTE FUNCTION search_on_message_truncate()
    """,
]

UNINSTALL = [
    *(f"DROP TRIGGER IF EXISTS {name} ON {table}" for table, name in TRIGGERS),
    "DROP FUNCTION IF EXISTS search_on_ticket_insert()",
    "DROP FUNCTION IF EXISTS search_on_ticket_subject()",
    "DROP FUNCTION IF EXISTS search_on_ticket_delete()",
    "DROP FUNCTION IF EXISTS search_on_ticket_truncate()",
    "DROP FUNCTION IF EXISTS search_on_message_insert()",
    "DROP FUNCTION IF EXISTS search_on_message_update()",
    "DROP FUNCTION IF EXISTS search_on_message_delete()",
    "DROP FUNCTION IF EXISTS search_on_message_truncate()",
    "DROP FUNCTION IF EXISTS search_refresh_tickets(bigint[])",
    "DROP FUNCTION IF EXISTS search_first_matches(tsquery, boolean, integer)",
    "DROP FUNCTION IF EXISTS search_sync_paused()",
    "DROP VIEW IF EXISTS search_ticket_source",
    f"DROP TABLE IF EXISTS {TABLE}",
]


def install(cursor: Any) -> None:
    """Create (or bring up to date) the table, indexes, view, functions and triggers."""
    for statement in INSTALL:
        cursor.execute(statement)


def uninstall(cursor: Any) -> None:
    for statement in UNINSTALL:
        cursor.execute(statement)


def rebuild(cursor: Any) -> int:
    """Rebuild every document from the tickets, set-based; returns how many.

    1. Lift the statement timeout meant for web requests (a million tickets take
       minutes), for this work only.
    2. Lock the document table (``TRUNCATE`` does), so a ticket written meanwhile
       waits and then refreshes its own document on top of the rebuilt one: no
       change is lost. Searches wait too.
    3. Drop the GIN indexes, insert every document with one ``INSERT … SELECT``,
       then build the indexes again: a bulk GIN build is many times faster than
       inserting into a live GIN index row by row.
    The caller holds the transaction; all of it commits at once or not at all.
    """
    cursor.execute(
        "SELECT current_setting('statement_timeout'), "
        "current_setting('maintenance_work_mem')"
    )
    timeout, work_mem = cursor.fetchone()
    cursor.execute("SET LOCAL statement_timeout = 0")
    cursor.execute(f"TRUNCATE {TABLE}")
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes "
        "WHERE tablename = %s AND indexname <> %s",
        [TABLE, f"{TABLE}_pkey"],
    )
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    cursor.execute(
        f"INSERT INTO {TABLE} (ticket_id, public_vector, internal_vector) "  # noqa: S608 - constant names
        "SELECT ticket_id, public_vector, internal_vector FROM search_ticket_source"
    )
    count: int = cursor.rowcount
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for _, definition in indexes:
        cursor.execute(definition)
    cursor.execute(f"ANALYZE {TABLE}")
    cursor.execute(
        "SELECT set_config('statement_timeout', %s, true), "
        "set_config('maintenance_work_mem', %s, true)",
        [timeout, work_mem],
    )
    return count


def pause_sync(cursor: Any) -> None:
    """Stop the triggers for the rest of the current transaction."""
    cursor.execute("SELECT set_config('devdesk.search_sync', 'off', true)")


def resume_sync(cursor: Any) -> None:
    cursor.execute("SELECT set_config('devdesk.search_sync', 'on', true)")


def missing_triggers(cursor: Any) -> list[str]:
    cursor.execute(
        "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname = ANY(%s)",
        [[name for _, name in TRIGGERS]],
    )
    present = {row[0] for row in cursor.fetchall()}
    return [name for _, name in TRIGGERS if name not in present]


def tsquery_sql(query: SearchQuery) -> tuple[str, list[Any]]:
    """``query`` as a tsquery expression and its parameters.

    Each term goes through ``phraseto_tsquery`` as a parameter, so PostgreSQL's own
    parser splits it as it split the documents (``foo.bar``, ``x-ray``, stop words)
    and no input can be read as an operator; the operators are ours.
    """
    term = f"phraseto_tsquery('{CONFIG}', %s)"
    groups = ["(" + " || ".join([term] * len(group)) + ")" for group in query.required]
    params: list[Any] = [t.text for group in query.required for t in group]
    sql = " && ".join(groups)
    if query.excluded:
        sql = f"({sql}) && !!(" + " || ".join([term] * len(query.excluded)) + ")"
        params += [t.text for t in query.excluded]
    return sql, params


def _vector(include_internal: bool) -> str:
    # Must read exactly as the index expressions do, or the GIN index is not used.
    return "(public_vector || internal_vector)" if include_internal else "public_vector"


def match_sql(query: SearchQuery, *, include_internal: bool) -> tuple[str, list[Any]]:
    """A subquery of the ids of matching tickets."""
    tsquery, params = tsquery_sql(query)
    return (
        f"SELECT ticket_id FROM {TABLE} "  # noqa: S608 - constant names
        f"WHERE {_vector(include_internal)} @@ ({tsquery})",
        params,
    )


def first_matches(
    cursor: Any, query: SearchQuery, *, include_internal: bool, limit: int
) -> list[int]:
    """Ids of up to ``limit`` matching tickets, in no particular order, straight
    from the GIN index."""
    tsquery, params = tsquery_sql(query)
    cursor.execute(
        f"SELECT search_first_matches({tsquery}, %s, %s)",
        [*params, include_internal, limit],
    )
    return [row[0] for row in cursor.fetchall()]


def estimated_matches(
    cursor: Any, query: SearchQuery, *, include_internal: bool
) -> int | None:
    """The planner's estimate of how many tickets match, from the statistics
    ANALYZE keeps on the index's words (planning only, nothing is read). Close
    for single words (measured at a million tickets: 140,305 estimated for
    140,367 matches, 9,396 for 9,464), so a common word need not be counted."""
    tsquery, params = tsquery_sql(query)
    cursor.execute(
        f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {TABLE} "  # noqa: S608 - constant names
        f"WHERE {_vector(include_internal)} @@ ({tsquery})",
        params,
    )
    row = cursor.fetchone()
    plan: Any = row[0] if row else None
    if isinstance(plan, str):
        plan = json.loads(plan)
    try:
        return int(plan[0]["Plan"]["Plan Rows"])
    except (TypeError, KeyError, IndexError, ValueError):
        return None


def few_matches(cursor: Any) -> int:
    """Up to how many matches a list is best narrowed by id (see
    ``services.match_tickets``). Reading the ids costs ~2 µs a match, and the list
    then tests each ticket against them cheaply. A walk through the sort index
    instead tests each ticket's document (a detoast and a concatenation, ~12 µs),
    about 51 x tickets / matches of them. They cost the same at ~17 √tickets
    matches: about 5,000 at 100k tickets, 17,000 at a million (the highest ticket
    id counts them, without a scan or statistics)."""
    cursor.execute("SELECT max(id) FROM tickets_ticket")
    row = cursor.fetchone()
    tickets = float(row[0] or 0) if row else 0.0
    return int(min(max(17 * tickets**0.5, 500), 30_000))


class _IsAnyOf(Lookup[int]):
    """``column = ANY('{1,2,…}')``: one array parameter, where thousands of ``IN``
    constants would take PostgreSQL longer to plan than to run."""

    lookup_name = "search_any_of"
    prepare_rhs = False

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[str | int, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        array = "{" + ",".join(str(int(i)) for i in self.rhs) + "}"
        return f"{lhs} = ANY(%s::bigint[])", (*lhs_params, array)


def narrow_to_few(tickets: Q, ids: list[int]) -> Q:
    """``tickets`` limited to ``ids``."""
    return tickets.filter(_IsAnyOf(F("pk"), ids))


def narrow_to_many(tickets: Q, sql: str, params: list[Any]) -> Q:
    """``tickets`` limited to the ids ``sql`` selects, when those are many: the
    planner walks the list's sort index and checks each ticket's document (through
    its primary key), which stops after one page."""
    return tickets.filter(pk__in=RawSQL(sql, params))  # noqa: S611 - input only as params


def snapshot(cursor: Any) -> list[tuple[Any, ...]]:
    """Every document, in ticket order (for comparing two builds)."""
    cursor.execute(
        f"SELECT ticket_id, public_vector::text, internal_vector::text FROM {TABLE} "  # noqa: S608 - constant names
        "ORDER BY ticket_id"
    )
    return [tuple(row) for row in cursor.fetchall()]
