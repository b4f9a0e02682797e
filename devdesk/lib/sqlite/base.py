"""Django's SQLite backend, with writers that take turns promptly.

devdesk opens its SQLite transactions with ``BEGIN IMMEDIATE`` (settings): the write
lock is taken at the start, so two writers queue instead of failing half-way. A
writer that finds the lock taken waits in SQLite's busy handler, which sleeps 1, 2,
5, 10, 15, 20, 25 ms and up between tries: behind transactions that last a few
milliseconds (a web request's, the mail processor's), most of that wait is sleep,
and two processes writing side by side got no more done than one.

Here ``BEGIN IMMEDIATE`` is tried again every :data:`RETRY_SECONDS` instead, for as
long as the connection's ``timeout`` allows, then fails as SQLite would ("database
is locked"). Statements other than ``BEGIN`` keep SQLite's own handler: inside such
a transaction the lock is already held.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from django.db.backends.sqlite3 import base

RETRY_SECONDS = 0.0003
DEFAULT_TIMEOUT = 5.0  # Python's sqlite3 default


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        self._busy_ms = int(1000 * float(conn_params.get("timeout", DEFAULT_TIMEOUT)))
        return super().get_new_connection(conn_params)

    def _start_transaction_under_autocommit(self) -> None:
        if self.transaction_mode != "IMMEDIATE":  # type: ignore[attr-defined]
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
            return
        raw = self.connection
        deadline = time.monotonic() + self._busy_ms / 1000
        raw.execute("PRAGMA busy_timeout = 0")
        # Django's OperationalError, as from any other statement.
        with self.wrap_database_errors:
            self._begin_immediate(raw, deadline)

    def _begin_immediate(self, raw: sqlite3.Connection, deadline: float) -> None:
        try:
            while True:
                try:
                    raw.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or (
                        time.monotonic() >= deadline
                    ):
                        raise
                time.sleep(RETRY_SECONDS)
        finally:
            raw.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
