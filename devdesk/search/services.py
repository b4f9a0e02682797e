"""Keyword search over tickets: narrow a queryset to the tickets that match, and
rebuild the index.

:func:`match_tickets` only ever narrows the queryset it is given, which the caller
gets from ``tickets.access.visible_tickets(user)``: search cannot show anyone a
ticket they could not open. Internal notes match only when the caller says the
person may read them (``include_internal``, off unless asked for).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import QuerySet

from devdesk.search.backends import backend_for
from devdesk.search.query import parse

Q = TypeVar("Q", bound=QuerySet[Any])


# How far above ``few_matches`` an estimate must be before it is trusted alone.
ESTIMATE_MARGIN = 3


def match_tickets(tickets: Q, text: str, *, include_internal: bool = False) -> Q:
    """``tickets`` narrowed to those whose subject or conversation matches ``text``
    (search-box syntax, see :mod:`devdesk.search.query`); never raises for odd input.

    Internal notes count only with ``include_internal``. Text without a word to look
    for (punctuation, stop words, only ``-exclusions``) matches nothing. Order and
    slicing stay the caller's, so keyset pages keep working.

    To keep a page cheap at any size, this asks the index first for a few matching
    ids (up to the backend's ``few_matches``, which grows with √tickets) and then:

    1. a rare word has few matches: the list is narrowed to those ids, which the
       database fetches by primary key and sorts;
    2. a common word has many: the list walks its sort index (newest first) and
       tests each ticket against the index, and a page fills after a few hundred
       tickets. Both databases, left to themselves, pick the wrong one of the two
       plans for some words.
    """
    query = parse(text)
    if query.is_empty:
        return tickets.none()
    connection = connections[tickets.db]
    backend = backend_for(connection)
    with connection.cursor() as cursor:
        few = backend.few_matches(cursor)
        estimate = backend.estimated_matches(
            cursor, query, include_internal=include_internal
        )
        # Asking the index for the first ids of a very common word reads
        # thousands of rows only to learn that it is common (200 ms at a million
        # tickets); where the database's estimate already says so, skip that.
        ids = (
            None
            if estimate is not None and estimate > ESTIMATE_MARGIN * few
            else backend.first_matches(
                cursor, query, include_internal=include_internal, limit=few + 1
            )
        )
    if ids is not None and len(ids) <= few:
        return backend.narrow_to_few(tickets, ids)
    sql, params = backend.match_sql(query, include_internal=include_internal)
    return backend.narrow_to_many(tickets, sql, params)


@dataclass(frozen=True)
class Reindexed:
    tickets: int
    seconds: float
    reinstalled_triggers: list[str]


def reindex(*, using: str = DEFAULT_DB_ALIAS) -> Reindexed:
    """Rebuild the whole ticket index from the tickets and their messages.

    One transaction of set-based SQL. On SQLite, searches read the old index until
    it commits; on PostgreSQL they wait, and so do ticket writes (whose triggers then
    refresh their own documents on top of the new index, so nothing is lost).
    Triggers that are missing (a migration that copies a tickets table on SQLite
    drops them) are put back first and listed in the result. Safe to run again.
    """
    started = time.monotonic()
    connection = connections[using]
    backend = backend_for(connection)
    with transaction.atomic(using=using), connection.cursor() as cursor:
        missing = backend.missing_triggers(cursor)
        if missing:
            backend.install(cursor)
        count = backend.rebuild(cursor)
    return Reindexed(count, time.monotonic() - started, missing)


@contextmanager
def sync_paused(*, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Within the current transaction, write tickets and messages without indexing
    them; for bulk loaders, which run :func:`reindex` once when done.

    Indexing as rows arrive makes a bulk load 2 to 3 times slower than indexing it
    all afterwards. The pause covers this transaction only (other sessions keep
    indexing) and ends with it even on error. Raises :class:`RuntimeError` outside
    ``transaction.atomic()``.
    """
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("sync_paused() pauses one transaction: open one first.")
    backend = backend_for(connection)
    with connection.cursor() as cursor:
        backend.pause_sync(cursor)
    try:
        yield
    finally:
        if not connection.needs_rollback:
            with connection.cursor() as cursor:
                backend.resume_sync(cursor)


def missing_triggers(*, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Names of the sync triggers that are not in the database (normally none)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        return backend_for(connection).missing_triggers(cursor)
