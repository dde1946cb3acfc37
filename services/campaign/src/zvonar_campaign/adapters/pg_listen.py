"""PostgreSQL LISTEN for the relay: eventsourcing NOTIFYs its recorder's channel in every
insert transaction, so a relay in another process wakes as soon as events are committed
rather than at its next poll."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import psycopg
import structlog
from psycopg import sql

log = structlog.get_logger("zvonar.campaign.relay")


async def listen_for_inserts(database_url: str, channel: str, wake: Callable[[], None]) -> None:
    """Calls `wake` on every notification, for ever; reconnects after a lost connection."""
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
            async with conn:
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                wake()  # whatever was committed while not listening
                async for _ in conn.notifies():
                    wake()
        except psycopg.OperationalError as exc:
            log.warning("relay_listen_lost", error=str(exc))
            await asyncio.sleep(1.0)
