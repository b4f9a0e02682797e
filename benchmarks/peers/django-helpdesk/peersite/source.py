"""Read-only access to a devdesk database, with plain DB-API connections.

devdesk is not installed here: its tables are read with raw SQL, on PostgreSQL
through psycopg in one read-only REPEATABLE READ transaction (a consistent
snapshot however long the seed takes), on SQLite through a ``mode=ro`` connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import dj_database_url
import psycopg

Row = tuple[Any, ...]


class Source:
    """A devdesk database to read from; SQL is written with ``%s`` placeholders."""

    def __init__(self, url: str) -> None:
        config = dj_database_url.parse(url)
        engine = str(config["ENGINE"])
        self._fetch: Callable[[str, tuple[Any, ...]], list[Row]]
        self.close: Callable[[], None]
        if engine.endswith("sqlite3"):
            self.description = f"SQLite {config['NAME']}"
            lite = sqlite3.connect(f"file:{config['NAME']}?mode=ro", uri=True)
            self._fetch = lambda sql, params: lite.execute(
                sql.replace("%s", "?"), params
            ).fetchall()
            self.close = lite.close
        elif "postgresql" in engine:
            self.description = (
                f"PostgreSQL {config.get('HOST') or 'localhost'}/{config['NAME']}"
            )
            pg = psycopg.connect(
                dbname=str(config["NAME"]),
                user=config.get("USER") or None,
                password=config.get("PASSWORD") or None,
                host=config.get("HOST") or None,
                port=str(config.get("PORT") or "") or None,
            )
            pg.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            pg.read_only = True

            def fetch(sql: str, params: tuple[Any, ...]) -> list[Row]:
                with pg.cursor() as cursor:
                    cursor.execute(sql, params)
                    return cursor.fetchall()

            self._fetch = fetch
            self.close = pg.close
        else:
            raise ValueError(f"unsupported source database: {engine}")

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._fetch(sql, tuple(params))

    def value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        found = self.rows(sql, params)
        return found[0][0] if found else None


def aware(value: Any) -> datetime | None:
    """A timezone-aware datetime from either driver (SQLite stores UTC as text)."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
