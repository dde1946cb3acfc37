"""The outbox publisher: rows written with the dialer's state go to JetStream with their
deterministic `Nats-Msg-Id` (the call id), then leave the outbox.

A crash between the publish and the delete republishes the row; the stream drops it as a
duplicate of the same message id.

With several dialers on one database each publishes the rows of the campaigns whose lease
partitions it holds (`scope`), so a row goes out once; the message id stays the safety net
for the moment a partition changes hands.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Protocol

import structlog

from zvonar_contracts.subjects import MSG_ID_HEADER
from zvonar_dialer.adapters import store
from zvonar_dialer.domain.partitions import OutboxScope
from zvonar_runtime.db import Database
from zvonar_runtime.shutdown import raise_if_stopping

log = structlog.get_logger("zvonar.dialer.outbox")
BATCH = 500
IDLE_WAIT_S = 0.5


class Publisher(Protocol):
    """Where the rows go: JetStream (its `publish` waits for the stream's acknowledgement)."""

    async def publish(
        self, subject: str, payload: bytes = b"", *, headers: dict[str, str] | None = None
    ) -> object: ...


class OutboxPublisher:
    def __init__(
        self,
        db: Database,
        js: Publisher,
        wakeup: asyncio.Event,
        scope: Callable[[], OutboxScope | None] = lambda: None,
    ) -> None:
        self._db = db
        self._js = js
        self._wakeup = wakeup
        self._scope = scope

    async def publish_pending(self) -> int:
        """Publish one batch; the number of rows published."""
        scope = self._scope()
        rows = await self._db.run(lambda cur: store.outbox_pending(cur, BATCH, scope))
        if not rows:
            return 0
        await asyncio.gather(
            *(
                self._js.publish(row.subject, row.payload, headers={MSG_ID_HEADER: row.msg_id})
                for row in rows
            )
        )
        await self._db.run(lambda cur: store.outbox_delete(cur, [row.id for row in rows]))
        return len(rows)

    async def run(self) -> None:
        while True:
            # A stop that came as JetStream acknowledged a publish is swallowed by 3.11's
            # wait_for inside nats-py: it must stop the loop all the same.
            raise_if_stopping()
            try:
                published = await self.publish_pending()
            except Exception:
                log.exception("outbox_publish_failed")
                published = 0
                await asyncio.sleep(IDLE_WAIT_S)
            if published == 0:
                # asyncio.timeout, not 3.11's wait_for, which swallows a stop that comes as
                # the wakeup is set.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(IDLE_WAIT_S):
                        await self._wakeup.wait()
                self._wakeup.clear()
