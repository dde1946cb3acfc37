"""The outbox publisher stops when told to, also when the stop comes as it is woken."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zvonar_dialer.adapters import schema
from zvonar_dialer.adapters.outbox_publisher import OutboxPublisher
from zvonar_runtime.db import Database


class NoJetStream:
    """Nothing is published here: the outbox stays empty."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"JetStream used: {name}")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.from_settings(None, tmp_path / "dialer.sqlite3", "dialer")
    database.run_sync(schema.create_schema)
    yield database
    database.close()


async def test_a_stop_that_comes_as_the_publisher_is_woken_stops_it(db: Database) -> None:
    wakeup = asyncio.Event()
    looked = asyncio.Event()

    class Observed(OutboxPublisher):
        async def publish_pending(self) -> int:
            published = await super().publish_pending()
            looked.set()  # the run goes on into its wait without yielding
            return published

    running = asyncio.create_task(Observed(db, NoJetStream(), wakeup).run())
    async with asyncio.timeout(10):
        await looked.wait()
    wakeup.set()  # a result recorded…
    running.cancel()  # …and the dialer stopped, in the same turn of the loop

    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(10):
            await running


async def test_a_stop_swallowed_as_jetstream_answers_stops_it(db: Database) -> None:
    """nats-py's publish awaits the acknowledgement through 3.11's asyncio.wait_for, which
    returns the answer and loses the cancellation when both come in the same turn."""
    publishing = asyncio.Event()

    class AnsweredAsStopped(OutboxPublisher):
        async def publish_pending(self) -> int:
            publishing.set()
            try:
                await asyncio.Event().wait()  # the acknowledgement awaited
            except asyncio.CancelledError:
                pass  # …and returned with the stop: swallowed
            return 0

    running = asyncio.create_task(AnsweredAsStopped(db, NoJetStream(), asyncio.Event()).run())
    async with asyncio.timeout(10):
        await publishing.wait()
    running.cancel()

    done, _ = await asyncio.wait([running], timeout=5)
    assert running in done, "the outbox publisher ran on after it was stopped"
    assert running.cancelled()
