"""With several dialers on one database each publishes the outbox rows of the campaigns in
the lease partitions it holds: every row goes out once, by one of them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from zvonar_contracts.subjects import MSG_ID_HEADER, call_event_subject
from zvonar_dialer.adapters import schema, store
from zvonar_dialer.adapters.outbox_publisher import OutboxPublisher
from zvonar_dialer.domain.partitions import OutboxScope
from zvonar_runtime.db import Cursor, Database

PARTITIONS = 4


class RecordingJetStream:
    """The publishing port: what was published, by message id."""

    def __init__(self) -> None:
        self.published: list[str] = []

    async def publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> None:
        self.published.append(headers[MSG_ID_HEADER])


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.from_settings(None, tmp_path / "dialer.sqlite3", "dialer")
    database.run_sync(schema.create_schema)
    yield database
    database.close()


def fill(cur: Cursor) -> None:
    for campaign_id in range(100, 110):
        subject = call_event_subject(campaign_id, "CallCompleted")
        store.outbox_add(cur, f"call-{campaign_id}", subject, b"{}", campaign_id)
    # A row written before the outbox named its campaign: partition 0's holder sends it.
    cur.execute(
        "INSERT INTO outbox (msg_id, subject, payload) VALUES ('legacy', 'call.events.7.X', '{}')"
    )


def publisher(db: Database, scope: OutboxScope | None) -> tuple[OutboxPublisher, list[str]]:
    js = RecordingJetStream()
    outbox = OutboxPublisher(db, js, asyncio.Event(), lambda: scope)  # type: ignore[arg-type]  # a fake of the publishing port
    return outbox, js.published


async def test_two_dialers_with_the_partitions_split_publish_every_row_once(db: Database) -> None:
    await db.run(fill)
    a, by_a = publisher(db, OutboxScope(PARTITIONS, frozenset({0, 1})))
    b, by_b = publisher(db, OutboxScope(PARTITIONS, frozenset({2, 3})))
    await asyncio.gather(a.publish_pending(), b.publish_pending())
    await asyncio.gather(a.publish_pending(), b.publish_pending())  # nothing left for either

    assert sorted(by_a) == sorted(
        ["legacy", *(f"call-{c}" for c in range(100, 110) if c % PARTITIONS in (0, 1))]
    )
    assert sorted(by_b) == sorted(f"call-{c}" for c in range(100, 110) if c % PARTITIONS >= 2)
    assert await db.run(lambda cur: store.outbox_pending(cur, 100)) == []


async def test_a_dialer_without_partitions_publishes_nothing_and_one_with_all_everything(
    db: Database,
) -> None:
    await db.run(fill)
    idle, by_idle = publisher(db, OutboxScope(PARTITIONS, frozenset()))
    assert await idle.publish_pending() == 0
    assert by_idle == []
    whole, by_whole = publisher(db, OutboxScope(PARTITIONS, frozenset(range(PARTITIONS))))
    assert await whole.publish_pending() == 11
    assert len(by_whole) == 11


def test_an_outbox_made_before_the_campaign_column_gets_it_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    database = Database.from_settings(None, tmp_path / "old.sqlite3", "dialer")
    try:

        def old_outbox(cur: Cursor) -> None:
            cur.execute(
                "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                "msg_id TEXT NOT NULL UNIQUE, subject TEXT NOT NULL, payload TEXT NOT NULL)"
            )
            cur.execute("INSERT INTO outbox (msg_id, subject, payload) VALUES ('m', 's', '{}')")

        database.run_sync(old_outbox)
        database.run_sync(schema.create_schema)
        database.run_sync(schema.create_schema)  # again: nothing to add
        rows = database.run_sync(
            lambda cur: store.outbox_pending(cur, 10, OutboxScope(PARTITIONS, frozenset({0})))
        )
        assert [row.msg_id for row in rows] == ["m"]
    finally:
        database.close()
