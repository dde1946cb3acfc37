"""A service's own SQL store: SQLite in the data folder by default, PostgreSQL (a schema of
its own) when DATABASE_URL is set.

Work is a plain function taking a DB-API cursor; `Database.run` executes it in a worker
thread inside one transaction, so handlers stay async while the SQL stays simple and
synchronous. SQL is written with `?` placeholders; on PostgreSQL they become `%s`.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar

T = TypeVar("T")
Dialect = Literal["sqlite", "postgres"]
_PLACEHOLDER = re.compile(r"\?")
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class Cursor:
    """A DB-API cursor that accepts `?` placeholders on either backend."""

    def __init__(self, raw: Any, dialect: Dialect) -> None:
        self._raw = raw
        self.dialect = dialect

    def _sql(self, sql: str) -> str:
        return _PLACEHOLDER.sub("%s", sql) if self.dialect == "postgres" else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        self._raw.execute(self._sql(sql), params)
        return self

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Cursor:
        self._raw.executemany(self._sql(sql), list(rows))
        return self

    def fetchone(self) -> Any:
        return self._raw.fetchone()

    def fetchall(self) -> list[Any]:
        return list(self._raw.fetchall())

    @property
    def rowcount(self) -> int:
        return int(self._raw.rowcount)

    def insert_rows(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        skip_existing: bool = False,
    ) -> None:
        """Bulk insert: one COPY on PostgreSQL (the caller makes sure no row exists yet),
        one executemany INSERT on SQLite (in process, no round trips), which skips rows
        that exist when `skip_existing`."""
        names = ", ".join(columns)
        if self.dialect == "postgres":
            with self._raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join("?" * len(columns))
        tail = " ON CONFLICT DO NOTHING" if skip_existing else ""
        self.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks}){tail}", rows)


class Database:
    """One connection per worker thread; `run(fn)` is one transaction."""

    def __init__(
        self,
        *,
        dialect: Dialect,
        sqlite_path: Path | None = None,
        postgres_url: str | None = None,
        schema: str | None = None,
        workers: int = 1,
    ) -> None:
        if schema is not None and not _SCHEMA_NAME.match(schema):
            raise ValueError(f"bad schema name {schema!r}")
        self.dialect = dialect
        self.sqlite_path = sqlite_path
        self.postgres_url = postgres_url
        self.schema = schema
        self._local = threading.local()
        self._connections: list[Any] = []
        self._lock = threading.Lock()
        # SQLite allows one writer: a single worker keeps transactions from colliding.
        self._executor = ThreadPoolExecutor(
            max_workers=1 if dialect == "sqlite" else workers, thread_name_prefix="db"
        )

    @classmethod
    def from_settings(
        cls, database_url: str | None, sqlite_path: Path, schema: str, workers: int = 4
    ) -> Database:
        if database_url:
            return cls(
                dialect="postgres", postgres_url=database_url, schema=schema, workers=workers
            )
        return cls(dialect="sqlite", sqlite_path=sqlite_path)

    # --- connections -----------------------------------------------------------------------
    def _connect(self) -> Any:
        if self.dialect == "sqlite":
            assert self.sqlite_path is not None
            self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.sqlite_path, timeout=30, check_same_thread=False, isolation_level=None
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            return conn
        import psycopg

        assert self.postgres_url is not None
        pg: Any = psycopg.connect(self.postgres_url, autocommit=True, connect_timeout=5)
        if self.schema:
            pg.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            pg.execute(f'SET search_path TO "{self.schema}"')
        return pg

    def _connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    # --- transactions ----------------------------------------------------------------------
    def run_sync(self, work: Callable[[Cursor], T], *, retries: int = 5) -> T:
        """Run `work` in one transaction in the calling thread, retrying lost connections
        (`retries` times, 0.4 s, 0.8 s, ... up to 3 s apart, each on a new connection).

        A plain loop rather than stamina (zvonar_runtime.retry): this is every transaction
        of every service, and stamina's bookkeeping costs tens of microseconds per call even
        when the first attempt succeeds; this loop costs nothing then."""
        attempt = 0
        while True:
            try:
                return self._transaction(work)
            except Exception as exc:
                if not self._is_connection_error(exc) or attempt >= retries:
                    raise
                attempt += 1
                self._drop_connection()
                time.sleep(min(0.2 * 2**attempt, 3.0))

    def _transaction(self, work: Callable[[Cursor], T]) -> T:
        conn = self._connection()
        raw = conn.cursor()
        cursor = Cursor(raw, self.dialect)
        if self.dialect == "sqlite":
            raw.execute("BEGIN IMMEDIATE")
            try:
                result = work(cursor)
            except BaseException:
                raw.execute("ROLLBACK")
                raise
            raw.execute("COMMIT")
            return result
        with conn.transaction():
            return work(cursor)

    def _is_connection_error(self, exc: Exception) -> bool:
        if self.dialect != "postgres":
            return False
        import psycopg

        return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)

    def is_transient(self, exc: BaseException) -> bool:
        """Whether `exc` says the database could not be reached or was busy (so the same
        work may well succeed later), rather than that this work cannot be stored."""
        if self.dialect == "sqlite":
            return isinstance(exc, sqlite3.OperationalError)
        return isinstance(exc, Exception) and self._is_connection_error(exc)

    async def run(self, work: Callable[[Cursor], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.run_sync, work)

    async def ping(self) -> bool:
        def probe(cur: Cursor) -> bool:
            cur.execute("SELECT 1")
            return cur.fetchone() is not None

        try:
            return await self.run(probe)
        except Exception:
            return False

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        with self._lock:
            for conn in self._connections:
                try:
                    conn.close()
                except Exception:
                    pass
            self._connections.clear()

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)
