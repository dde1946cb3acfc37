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

    running = asyncio.create_task(Observed(db, NoJetStream(), wakeup).run())  # type: ignore[arg-type]
    async with asyncio.timeout(10):
        await looked.wait()
    wakeup.set()  # a result recorded…
    running.cancel()  # …and the dialer stopped, in the same turn of the loop

    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(10):
            await running
