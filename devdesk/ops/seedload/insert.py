"""Writing the ticket rows: multi-row ``INSERT`` on SQLite, binary ``COPY`` on
PostgreSQL, into empty tables with their indexes set aside."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Field, Model
from psycopg.types.json import set_json_dumps

from devdesk.ops.seedload.set_aside import SetAside, put_back, set_aside


def _column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or field.column is None:
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field.column


def _as_is(text: str) -> str:
    return text


@dataclass(frozen=True)
class _Table:
    """How rows of one model, with these fields, are written."""

    name: str
    table: str  # quoted
    columns: list[str]  # quoted, the id first when it is given
    pk: str
    datetimes: list[int]  # positions of datetime values (SQLite stores text)


# The table, the COPY statement, the column types (PostgreSQL oids) and the rows.
_Copy = tuple[str, str, list[int], list[Sequence[Any]]]


class Inserter:
    """Inserts rows without the ORM's per-field work, which costs more than the
    database here. Values come as Python values: ints, strings, aware datetimes, JSON
    as text (what ``json.dumps`` writes).

    - SQLite: multi-row ``INSERT … RETURNING id`` at once.
    - PostgreSQL: ids are drawn from the table's sequence first (so they are known
      and never collide with concurrent inserts), and the rows go with binary
      ``COPY`` with the batch. With ``background=True`` writer threads, each on
      its own connection, do the COPYs while this one makes the next batches;
      what the rows refer to (customers, people) must be committed before.

    When ``tables`` are all empty (a fresh database) their indexes and constraints
    are set aside first and put back at the end
    (:mod:`~devdesk.ops.seedload.set_aside`), followed by ``rebuild`` (what
    rebuilds the data set-aside triggers kept: the search index).

    Transactions: on one connection (SQLite, or inside an outer transaction) a load
    into empty tables is one transaction, else each batch is one. With the
    background writers each batch is one transaction on its writer's connection,
    and setting aside and putting back are one each: the writers could not see
    what an open transaction set aside.

    In each batch the rows of the ``last`` tables go after the others.
    """

    # Below SQLite's 32,766 bound variables.
    MAX_PARAMS = 30_000
    # Background writers: the database's work per batch (the rows, the indexes kept,
    # the search triggers) outweighs making the batch, so two connections share it.
    WRITERS = 2

    def __init__(
        self,
        *,
        tables: list[str],
        background: bool,
        rebuild: Sequence[Callable[[], object]] = (),
        last: Sequence[str] = (),
    ) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.background = self.postgres and background
        self.tables = tables
        self.last = set(last)
        self.rebuild = list(rebuild)
        self.fresh = False
        self.pending: list[_Copy] = []
        self.specs: dict[tuple[type[Model], tuple[str, ...], bool], _Table] = {}
        self.types: dict[str, dict[str, int]] = {}  # table -> column -> type oid
        self.sequences: dict[str, str] = {}  # table -> its id sequence
        self.failure: BaseException | None = None
        if self.postgres:
            self._read_catalog()

    def _read_catalog(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT attrelid::regclass::text, attname, atttypid::int "
                "FROM pg_attribute WHERE attrelid = ANY(%s::regclass[]) "
                "AND attnum > 0 AND NOT attisdropped",
                [self.tables],
            )
            for table, column, oid in cursor.fetchall():
                self.types.setdefault(table, {})[column] = oid
            cursor.execute(
                "SELECT t, pg_get_serial_sequence(t, 'id') FROM unnest(%s::text[]) t",
                [self.tables],
            )
            self.sequences = dict(cursor.fetchall())

    # The load

    def run(self, batches: Iterable[int]) -> None:
        """Write every batch: ``batches`` makes the rows of one batch with
        :meth:`insert` for each value it yields."""
        if self.background:
            self._write_in_background(batches)
        else:
            self._write_here(batches)

    def _take_pending(self) -> list[_Copy]:
        copies, self.pending = self.pending, []
        copies.sort(key=lambda copy: copy[0] in self.last)  # stable: else as made
        return copies

    def _set_aside(self, cursor: Any) -> SetAside | None:
        self._bulk_settings(cursor)
        aside = set_aside(
            cursor,
            vendor=connection.vendor,
            tables=self.tables,
            triggers=bool(self.rebuild),
        )
        self.fresh = aside is not None
        return aside

    def _put_back(self, cursor: Any, aside: SetAside) -> None:
        self._bulk_settings(cursor)
        put_back(cursor, aside)
        if aside.had_triggers:
            for rebuild in self.rebuild:
                rebuild()

    def _bulk_settings(self, cursor: Any) -> None:
        if not self.postgres:
            return
        # A bulk load is no web request: building an index over a million rows takes
        # longer than the statement timeout set for those (DB_STATEMENT_TIMEOUT_MS).
        cursor.execute("SET LOCAL statement_timeout = 0")
        # Losing the last commits in a crash loses load rows, not anyone's work.
        cursor.execute("SET LOCAL synchronous_commit = off")

    def _write_here(self, batches: Iterable[int]) -> None:
        """On this connection (SQLite inserts each batch's rows while making it)."""
        with transaction.atomic(), connection.cursor() as cursor:
            aside = self._set_aside(cursor)
            if aside is not None:
                for _ in batches:
                    self._copy(self._take_pending())
                self._put_back(cursor, aside)
                return
        made = iter(batches)
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                self._bulk_settings(cursor)
                if next(made, None) is None:
                    return
                self._copy(self._take_pending())

    def _write_in_background(self, batches: Iterable[int]) -> None:
        """PostgreSQL: the writers COPY while this thread makes the next batches.

        A failure anywhere stops the load after the batches already committed, and
        what was set aside is put back all the same: the tables keep whole tickets
        and all their indexes. Only a killed process leaves them without.
        """
        with transaction.atomic(), connection.cursor() as cursor:
            aside = self._set_aside(cursor)
        inbox: queue.Queue[list[_Copy] | None] = queue.Queue(maxsize=2 * self.WRITERS)
        writers = [
            threading.Thread(target=self._write_batches, args=(inbox,))
            for _ in range(self.WRITERS)
        ]
        try:
            for writer in writers:
                writer.start()
            try:
                for _ in batches:
                    if self.failure is not None:
                        raise self.failure
                    inbox.put(self._take_pending())
            finally:
                for _ in writers:
                    inbox.put(None)
                for writer in writers:
                    writer.join()
        finally:
            if aside is not None:
                with transaction.atomic(), connection.cursor() as cursor:
                    self._put_back(cursor, aside)
        if self.failure is not None:
            raise self.failure

    def _write_batches(self, inbox: queue.Queue[list[_Copy] | None]) -> None:
        """One writer: each batch in a transaction of its own, until told to stop;
        after a failure (handed to the main thread) it only takes batches off."""
        try:
            while (copies := inbox.get()) is not None:
                if self.failure is not None:
                    continue
                try:
                    with transaction.atomic(), connection.cursor() as cursor:
                        self._bulk_settings(cursor)
                        self._copy(copies)
                except BaseException as error:
                    self.failure = error
        finally:
            connection.close()

    def _copy(self, copies: list[_Copy]) -> None:
        if not copies:
            return
        with connection.cursor() as wrapper:
            cursor = wrapper.cursor
            # JSON values come as text already: hand them over as they are.
            set_json_dumps(_as_is, cursor)
            for _, sql, types, rows in copies:
                with cursor.copy(sql) as copy:
                    copy.set_types(types)
                    for row in rows:
                        copy.write_row(row)

    # Rows

    def insert(
        self,
        model: type[Model],
        fields: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        returning: bool = False,
    ) -> Sequence[int]:
        """Insert ``rows`` (values in the order of ``fields``; on PostgreSQL with
        the batch); returns their ids in order when asked."""
        if not rows:
            return []
        spec = self._spec(model, tuple(fields), returning)
        if self.postgres:
            return self._queue_copy(spec, rows, returning=returning)
        return self._insert_sqlite(spec, rows, returning=returning)

    def _spec(
        self, model: type[Model], fields: tuple[str, ...], returning: bool
    ) -> _Table:
        key = (model, fields, returning)
        spec = self.specs.get(key)
        if spec is None:
            quote = connection.ops.quote_name
            names = ["id", *fields] if returning and self.postgres else list(fields)
            spec = _Table(
                name=model._meta.db_table,
                table=quote(model._meta.db_table),
                columns=[quote(_column(model, f)) for f in names],
                pk=_column(model, "id"),
                datetimes=[
                    k
                    for k, f in enumerate(names)
                    if model._meta.get_field(f).get_internal_type() == "DateTimeField"
                ],
            )
            self.specs[key] = spec
        return spec

    def _queue_copy(
        self, spec: _Table, rows: Sequence[Sequence[Any]], *, returning: bool
    ) -> Sequence[int]:
        ids: Sequence[int] = []
        if returning:
            ids = self._draw_ids(spec, len(rows))
            rows = [(i, *row) for i, row in zip(ids, rows, strict=True)]
        sql = (
            f"COPY {spec.table} ({', '.join(spec.columns)}) FROM STDIN (FORMAT BINARY)"
        )
        self.pending.append((spec.name, sql, self._types(spec), list(rows)))
        return ids

    def _draw_ids(self, spec: _Table, count: int) -> Sequence[int]:
        sequence = self.sequences[spec.name]
        with connection.cursor() as cursor:
            # Alone on the sequence, one statement gets consecutive values: then two
            # numbers say it all. Someone else drawing meanwhile makes gaps: then
            # take the values one by one.
            cursor.execute(
                "SELECT min(v), max(v) FROM (SELECT nextval(%s) AS v "
                "FROM generate_series(1, %s)) AS drawn",
                [sequence, count],
            )
            low, high = cursor.fetchone()
            if high - low + 1 == count:
                return range(low, high + 1)
            cursor.execute(
                "SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, count]
            )
            return [row[0] for row in cursor.fetchall()]

    def _types(self, spec: _Table) -> list[int]:
        types = self.types[spec.name]
        return [types[column.strip('"')] for column in spec.columns]

    def _insert_sqlite(
        self, spec: _Table, rows: Sequence[Sequence[Any]], *, returning: bool
    ) -> list[int]:
        if spec.datetimes:
            rows = [_sqlite_datetimes(row, spec.datetimes) for row in rows]
        # Names come from the models' metadata, values go as parameters.
        head = f"INSERT INTO {spec.table} ({', '.join(spec.columns)}) VALUES "  # noqa: S608
        one = "(" + ", ".join(["%s"] * len(spec.columns)) + ")"
        tail = f' RETURNING "{spec.pk}"' if returning else ""
        per_statement = max(1, self.MAX_PARAMS // len(spec.columns))
        ids: list[int] = []
        with connection.cursor() as wrapper:
            # Past the DEBUG wrapper: it would quote every value of every statement
            # into the query log, which costs more than the insert.
            cursor = wrapper.cursor
            for start in range(0, len(rows), per_statement):
                chunk = rows[start : start + per_statement]
                params = [value for row in chunk for value in row]
                cursor.execute(head + ", ".join([one] * len(chunk)) + tail, params)
                if returning:
                    ids.extend(row[0] for row in cursor.fetchall())
        return ids


def _sqlite_datetimes(row: Sequence[Any], positions: list[int]) -> list[Any]:
    # Django stores datetimes on SQLite as naive UTC text.
    values = list(row)
    for k in positions:
        value: datetime | None = values[k]
        if value is not None:
            values[k] = str(value.astimezone(UTC).replace(tzinfo=None))
    return values
