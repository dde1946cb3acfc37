"""The account cache (adapters/account_cache.py) when NATS goes away: it stops answering from
memory at once (a change could be missed), and caches again once NATS is back and a new watch
has replayed the changes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from zvonar_devtools.natsserver import NatsServer
from zvonar_gateway.adapters.account_cache import CachedAccountStore
from zvonar_runtime.db import Database
from zvonar_runtime.jetstream import connect

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


async def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.05)


async def test_without_nats_every_lookup_goes_to_the_database_until_the_watch_is_back(
    tmp_path: Path, pg_database_factory: Callable[[], str]
) -> None:
    server = NatsServer(tmp_path / "nats").start()
    db = Database(dialect="postgres", postgres_url=pg_database_factory(), schema="gateway")
    nc = await connect(server.url, "gateway-cache")
    store = CachedAccountStore(db, nc, timeout=1.0)
    try:
        await store.migrate()
        account, key = await store.create("Тест", "Europe/Moscow")
        await store.start()

        async def lookup() -> None:
            assert await store.by_key(key) == account

        await lookup()
        await wait_for(lambda: store._live)
        await lookup()
        assert store._by_hash  # kept

        server.stop()
        await wait_for(lambda: not nc.is_connected)
        await lookup()  # answered by the database, nothing kept
        assert not store._live and not store._by_hash

        server.start()
        await wait_for(lambda: nc.is_connected)
        await wait_for(lambda: store._live)
        await lookup()
        assert store._by_hash
    finally:
        await store.aclose()
        await nc.close()
        await db.aclose()
        server.stop()
