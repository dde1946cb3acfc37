"""The campaign service's event store keeps eventsourcing's events table lock.

Each insert into the events table takes `LOCK TABLE … IN EXCLUSIVE MODE`, so notification
ids commit in the order they are issued. `POSTGRES_ENABLE_DB_FUNCTIONS` inserts through a
database function without that lock: a reader (the relay) could then see id 3 before id 2
commits and skip id 2 for ever. eventsourcing reads os.environ too, so the test sets the
setting there, under both names eventsourcing looks for, and opens the store the way the
service does (`open_store`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import Composable

from zvonar_campaign.adapters.eventstore import eventstore_env
from zvonar_campaign.bootstrap import Store, open_store

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


class Probe(Aggregate):
    """Any aggregate: the test is about the recorder, not the campaign's events."""


@pytest.fixture
def store(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("POSTGRES_ENABLE_DB_FUNCTIONS", "y")
    monkeypatch.setenv("CAMPAIGNS_POSTGRES_ENABLE_DB_FUNCTIONS", "y")
    return open_store(pg_url, lambda: tmp_path / "campaign.sqlite")


def test_the_service_environment_disables_db_functions(pg_url: str, tmp_path: Path) -> None:
    env = eventstore_env(pg_url, tmp_path / "campaign.sqlite")
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert env["POSTGRES_ENABLE_DB_FUNCTIONS"] == "n"
    assert env["CAMPAIGNS_POSTGRES_ENABLE_DB_FUNCTIONS"] == "n"


def test_the_recorder_keeps_the_table_lock(store: Store) -> None:
    try:
        recorder = store.app.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        assert recorder.datastore.enable_db_functions is False
        parts: list[str] = []
        for statement in recorder.lock_table_statements:
            assert isinstance(statement, Composable), statement
            parts.append(statement.as_string())
        statements = " ".join(parts)
        assert "LOCK TABLE" in statements and "IN EXCLUSIVE MODE" in statements
    finally:
        store.close()


def test_a_save_waits_for_a_writer_that_has_not_committed(store: Store, pg_url: str) -> None:
    """Another transaction holding the lock an INSERT takes (ROW EXCLUSIVE) stands for a
    concurrent save that has its id but has not committed: the service's save must wait
    for it (its EXCLUSIVE lock conflicts), not commit a later id past it."""
    recorder = store.app.recorder
    assert isinstance(recorder, PostgresApplicationRecorder)
    table = f'"{recorder.datastore.schema}"."{recorder.events_table_name}"'
    saved: list[UUID] = []
    failed: list[BaseException] = []

    def save() -> None:
        try:
            probe = Probe()
            store.app.save(probe)
            saved.append(probe.id)
        except BaseException as exc:
            failed.append(exc)

    try:
        with (
            psycopg.connect(pg_url, autocommit=True) as writer,
            psycopg.connect(pg_url, autocommit=True) as watcher,
        ):
            writer.execute("BEGIN")
            writer.execute(f"LOCK TABLE {table} IN ROW EXCLUSIVE MODE")
            saving = threading.Thread(target=save, daemon=True)
            saving.start()
            waiting = _until(
                lambda: saved or failed or _lock_waits(watcher, table),
                "the save to finish or wait for the table lock",
            )
            assert not failed, failed
            assert not saved, "the save committed while another writer's transaction was open"
            assert waiting == [("ExclusiveLock",)]
            writer.execute("COMMIT")
            saving.join(60)
        assert not failed, failed
        assert len(saved) == 1
        assert store.app.repository.get(saved[0]).id == saved[0]
    finally:
        store.close()


def _lock_waits(
    conn: psycopg.Connection[tuple[object, ...]], table: str
) -> list[tuple[object, ...]]:
    """Lock modes requested on `table` and not granted yet."""
    return conn.execute(
        f"SELECT mode FROM pg_locks WHERE relation = '{table}'::regclass AND NOT granted"
    ).fetchall()


def _until(check: Callable[[], object], what: str, timeout: float = 60.0) -> object:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        time.sleep(0.02)
    return result
