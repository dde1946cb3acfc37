"""The runtime's SQL store behaves the same on SQLite and PostgreSQL: `?` placeholders, one
transaction per `run`, a rollback on error, and each service in its own schema."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from zvonar_runtime.db import Cursor, Database

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgres"])
def database(
    request: pytest.FixtureRequest, tmp_path: Path, pg_database_factory: Callable[[], str]
) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database.from_settings(None, tmp_path / "t.sqlite3", "svc")
    else:
        db = Database.from_settings(pg_database_factory(), tmp_path / "unused", "svc")
    db.run_sync(lambda cur: cur.execute("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v INT)"))
    yield db
    db.close()


async def test_run_commits_and_reads_back(database: Database) -> None:
    await database.run(
        lambda cur: cur.executemany("INSERT INTO t VALUES (?, ?)", [("a", 1), ("b", 2)])
    )

    def total(cur: Cursor) -> int:
        return int(cur.execute("SELECT SUM(v) FROM t").fetchone()[0])

    assert await database.run(total) == 3


async def test_error_rolls_the_whole_transaction_back(database: Database) -> None:
    def half_then_fail(cur: Cursor) -> None:
        cur.execute("INSERT INTO t VALUES (?, ?)", ("x", 1))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await database.run(half_then_fail)
    count = await database.run(lambda cur: cur.execute("SELECT COUNT(*) FROM t").fetchone()[0])
    assert count == 0


async def test_execute_runs_one_statement_with_placeholders(database: Database) -> None:
    await database.execute("INSERT INTO t VALUES (?, ?)", ("e", 7))
    await database.execute("UPDATE t SET v = v + 1")

    row = await database.run(lambda cur: cur.execute("SELECT k, v FROM t").fetchall())
    assert [tuple(r) for r in row] == [("e", 8)]


async def test_ping_answers(database: Database) -> None:
    assert await database.ping()


def test_postgres_tables_live_in_the_service_schema(
    pg_database_factory: Callable[[], str], tmp_path: Path
) -> None:
    url = pg_database_factory()
    first = Database.from_settings(url, tmp_path / "x", "first")
    second = Database.from_settings(url, tmp_path / "x", "second")
    try:
        first.run_sync(lambda cur: cur.execute("CREATE TABLE t (v INT)"))
        second.run_sync(lambda cur: cur.execute("CREATE TABLE t (v INT)"))
        first.run_sync(lambda cur: cur.execute("INSERT INTO t VALUES (1)"))
        rows = second.run_sync(lambda cur: cur.execute("SELECT COUNT(*) FROM t").fetchone()[0])
        assert rows == 0
    finally:
        first.close()
        second.close()


def test_postgres_a_lost_connection_is_tried_again_on_a_new_one(
    pg_database_factory: Callable[[], str], tmp_path: Path
) -> None:
    url = pg_database_factory()
    db = Database.from_settings(url, tmp_path / "x", "svc")
    admin = psycopg.connect(url, autocommit=True)
    try:
        first = db.run_sync(lambda cur: cur.execute("SELECT pg_backend_pid()").fetchone()[0])
        # Waits (up to 30 s) until that backend has gone: the next transaction meets a dead
        # connection, is retried on a fresh one and succeeds.
        admin.execute("SELECT pg_terminate_backend(%s, 30000)", (first,))
        again = db.run_sync(lambda cur: cur.execute("SELECT pg_backend_pid()").fetchone()[0])
        assert again != first

        calls: list[int] = []

        def fails(cur: Cursor) -> None:
            calls.append(1)
            raise ValueError("not a connection error")

        with pytest.raises(ValueError, match="not a connection error"):
            db.run_sync(fails)
        assert calls == [1]  # other errors are not retried
    finally:
        admin.close()
        db.close()
