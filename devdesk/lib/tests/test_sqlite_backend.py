"""devdesk's SQLite backend: a writer waiting for the write lock takes it once it is
free, and gives up with Django's "database is locked" when its timeout runs out."""

import sqlite3
import threading

import pytest
from django.db import OperationalError, connection

from devdesk.lib.sqlite import base
from devdesk.lib.sqlite.base import DatabaseWrapper


def wrapper(path, *, timeout: float) -> DatabaseWrapper:
    settings = {
        **connection.settings_dict,
        "ENGINE": "devdesk.lib.sqlite",
        "NAME": str(path),
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": timeout},
    }
    return DatabaseWrapper(settings, alias="lock-test")


def begin(db: DatabaseWrapper) -> None:
    db.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)


def end(db: DatabaseWrapper) -> None:
    db.commit()
    db.set_autocommit(True)
    db.close()


@pytest.fixture(autouse=True)
def _own_databases(django_db_blocker):
    # Files of the tests' own, not the test database.
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def holder(tmp_path):
    """Another connection that holds the write lock until released."""
    path = tmp_path / "lock.sqlite3"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE t (n INTEGER)")
    other.execute("BEGIN IMMEDIATE")
    yield path, other
    other.close()


def test_a_writer_waits_for_the_lock_and_writes_once_it_is_free(holder):
    path, other = holder
    order: list[str] = []

    def write() -> None:
        db = wrapper(path, timeout=20)
        begin(db)
        order.append("began")
        with db.cursor() as cursor:
            cursor.execute("INSERT INTO t VALUES (2)")
        end(db)

    thread = threading.Thread(target=write)
    thread.start()
    thread.join(0.3)
    assert thread.is_alive()  # still waiting: the lock is held
    other.execute("INSERT INTO t VALUES (1)")
    order.append("released")
    other.execute("COMMIT")
    thread.join(10)
    assert order == ["released", "began"]
    assert other.execute("SELECT n FROM t ORDER BY rowid").fetchall() == [(1,), (2,)]


def test_a_writer_gives_up_after_its_timeout_as_sqlite_would(holder, monkeypatch):
    path, _ = holder
    db = wrapper(path, timeout=0.2)
    naps: list[float] = []
    real_sleep = base.time.sleep

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(base.time, "sleep", sleep)
    with pytest.raises(OperationalError, match="locked"):
        begin(db)
    # It asked again and again at short intervals, not in SQLite's growing sleeps.
    assert len(naps) > 10
    assert set(naps) == {base.RETRY_SECONDS}
    # The connection's own busy timeout is back for the statements after BEGIN.
    with db.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone() == (200,)
    db.close()
