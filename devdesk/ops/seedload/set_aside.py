"""Loading into empty tables: take indexes and constraints off first, and put back
exactly what was there at the end.

Keeping secondary indexes and foreign keys up to date row by row costs the database
more than writing the rows: building an index over a million rows at the end is many
times cheaper, and a foreign key added to a full table is checked with one join
instead of one look-up per row. Everything is read from the database's own catalog and
put back with the definitions it gives, so the schema afterwards is what the
migrations made, whatever they made.

Triggers that keep per-ticket data (the search index) differ by database:

- PostgreSQL: they run per statement, once per batch, set-based, and the database
  does that work while the load makes the next batch. They stay, and so do the
  indexes they need to find a ticket's rows: those whose first column refers to one
  of the loaded tables (``message (ticket_id, …)``). In a load those grow at their
  right-hand end only, which costs little.
- SQLite: they run per row and redo a ticket's whole conversation for each message.
  They are set aside with the indexes; the caller rebuilds what they keep.

Tables that already hold rows are left alone (the caller inserts around their
indexes as usual).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SetAside:
    """What was taken off the tables, as the statements that put it back, in order."""

    tables: list[str]
    restore: list[str] = field(default_factory=list)
    # Triggers were set aside: what they keep (the search index) must be rebuilt.
    had_triggers: bool = False


def set_aside(
    cursor: Any, *, vendor: str, tables: list[str], triggers: bool
) -> SetAside | None:
    """Take secondary indexes and constraints (and on SQLite triggers) off
    ``tables`` if they are all empty; returns what to put back, or None (nothing
    changed) when a table holds rows, or on SQLite has triggers and ``triggers``
    (the caller can rebuild what they keep) is false.

    The tables are locked until the caller's transaction ends, so no row can come in
    between the look and the change.
    """
    if vendor == "postgresql":
        return _postgresql(cursor, tables)
    if vendor == "sqlite":
        return _sqlite(cursor, tables, triggers=triggers)
    return None


def put_back(cursor: Any, aside: SetAside) -> None:
    """Rebuild what :func:`set_aside` took off, in the same transaction."""
    for statement in aside.restore:
        cursor.execute(statement)


def _any_rows(cursor: Any, tables: list[str]) -> bool:
    # Names come from the catalog (quoted there), not from input.
    cursor.execute(
        "SELECT " + " OR ".join(f"EXISTS (SELECT 1 FROM {t})" for t in tables)  # noqa: S608
    )
    return bool(cursor.fetchone()[0])


def _postgresql(cursor: Any, tables: list[str]) -> SetAside | None:
    # 1. Lock, then look.
    quoted = [f'"{t}"' for t in tables]
    cursor.execute(f"LOCK TABLE {', '.join(quoted)} IN ACCESS EXCLUSIVE MODE")
    if _any_rows(cursor, quoted):
        return None
    # Deferred checks of rows written earlier in this transaction (the customers and
    # people, in one test transaction) would forbid altering their tables: run them
    # now, as Django's check_constraints() does.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    # 2. Constraints: foreign keys of these tables, and unique constraints no
    #    foreign key depends on. Primary keys and checks stay.
    cursor.execute(
        """
        SELECT format('ALTER TABLE %%s DROP CONSTRAINT %%I', conrelid::regclass,
                      conname),
               format('ALTER TABLE %%s ADD CONSTRAINT %%I %%s', conrelid::regclass,
                      conname, pg_get_constraintdef(oid)),
               contype
        FROM pg_constraint c
        WHERE conrelid = ANY(%s::regclass[])
          AND (contype = 'f' OR (contype = 'u' AND NOT EXISTS (
              SELECT 1 FROM pg_constraint f
              WHERE f.contype = 'f' AND f.conindid = c.conindid)))
        ORDER BY contype = 'f' DESC, conrelid, conname
        """,
        [tables],
    )
    constraints = cursor.fetchall()
    # 3. Indexes that back no constraint, except those whose first column refers to
    #    a loaded table (see the module's docstring).
    cursor.execute(
        """
        SELECT format('DROP INDEX %%s', indexrelid::regclass),
               pg_get_indexdef(indexrelid)
        FROM pg_index i
        WHERE indrelid = ANY(%s::regclass[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                          WHERE c.conrelid = i.indrelid
                            AND c.conindid = i.indexrelid)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint f
                          WHERE f.contype = 'f' AND f.conrelid = i.indrelid
                            AND f.conkey[1] = i.indkey[0]
                            AND f.confrelid = ANY(%s::regclass[]))
        ORDER BY indrelid, indexrelid::regclass::text
        """,
        [tables, tables],
    )
    indexes = cursor.fetchall()
    for drop, _, _ in constraints:
        cursor.execute(drop)
    for drop, _ in indexes:
        cursor.execute(drop)
    # 4. Put back: indexes, then unique constraints, then foreign keys (checked
    #    against full tables with one join each). Sorting and the checks' joins get
    #    memory enough to stay off disk.
    return SetAside(
        tables=tables,
        restore=[
            "SET LOCAL maintenance_work_mem = '512MB'",
            "SET LOCAL work_mem = '256MB'",
            *(create for _, create in indexes),
            *(add for _, add, kind in constraints if kind == "u"),
            *(add for _, add, kind in constraints if kind == "f"),
        ],
    )


def _sqlite(cursor: Any, tables: list[str], *, triggers: bool) -> SetAside | None:
    # SQLite has one writer; the caller's transaction holds the write lock already.
    # Foreign keys are part of the table definitions and stay; they are deferred
    # and cost one primary-key look-up per row.
    quoted = [f'"{t}"' for t in tables]
    if _any_rows(cursor, quoted):
        return None
    cursor.execute(
        "SELECT type, name, sql FROM sqlite_master "
        "WHERE type IN ('index', 'trigger') AND sql IS NOT NULL "
        "AND tbl_name IN (SELECT value FROM json_each(%s)) "
        "ORDER BY type = 'trigger', rowid",
        [json.dumps(tables)],
    )
    rows = cursor.fetchall()
    had_triggers = any(kind == "trigger" for kind, _, _ in rows)
    if had_triggers and not triggers:
        return None
    for kind, name, _ in rows:
        cursor.execute(f'DROP {kind.upper()} "{name}"')
    return SetAside(
        tables=tables, restore=[sql for _, _, sql in rows], had_triggers=had_triggers
    )
