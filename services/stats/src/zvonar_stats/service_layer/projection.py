"""Applying a batch of either stream to the active read models, one transaction per
batch, and tracking the campaign-log position applied so queries can wait for it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import structlog

from zvonar_contracts.subjects import CALL_EVENTS_STREAM, CAMPAIGN_EVENTS_STREAM
from zvonar_runtime.correlation import correlation_scope
from zvonar_runtime.db import Cursor, Database
from zvonar_runtime.metrics import MESSAGES_PARKED
from zvonar_stats.adapters.call_projection import apply_call_batch
from zvonar_stats.adapters.campaign_projection import apply_campaign_batch
from zvonar_stats.adapters.checkpoints import Checkpoint, park, read_checkpoint
from zvonar_stats.adapters.read_model import applied_position
from zvonar_stats.adapters.schema import (
    CALL_STREAM_KEY,
    CAMPAIGN_STREAM_KEY,
    active_tables,
    ensure_schema,
)
from zvonar_stats.domain.envelope import Envelope

log = structlog.get_logger("zvonar.stats.projection")
# The `stream` label of zvonar_messages_parked_total for each stream key.
PARKED_STREAM = {CAMPAIGN_STREAM_KEY: CAMPAIGN_EVENTS_STREAM, CALL_STREAM_KEY: CALL_EVENTS_STREAM}


class Projector:
    """The stats service's write path: both streams into the generation in use."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.position = 0
        self._moved = asyncio.Event()

    async def open(self) -> None:
        await self.db.run(ensure_schema)
        self._advance(await self.db.run(applied_position))

    async def apply_campaign_events(self, batch: Sequence[Envelope]) -> Checkpoint:
        def work(cur: Cursor) -> Checkpoint:
            return apply_campaign_batch(cur, active_tables(cur, lock="share"), batch)

        reached = await self.db.run(work)
        self._advance(reached.position)
        for envelope in batch:
            # Campaign events are few (a handful per campaign): one line each lets an
            # operator follow a request's correlation id into the read model.
            with correlation_scope(envelope.correlation_id):
                log.info(
                    "campaign_event_projected",
                    subject=envelope.subject,
                    seq=envelope.seq,
                    position=envelope.position,
                )
        return reached

    async def apply_call_events(self, batch: Sequence[Envelope]) -> Checkpoint:
        def work(cur: Cursor) -> Checkpoint:
            return apply_call_batch(cur, active_tables(cur, lock="share"), batch)

        return await self.db.run(work)

    async def campaign_seq(self) -> int:
        """The last CAMPAIGN_EVENTS sequence applied to the generation in use."""
        return await self._applied(CAMPAIGN_STREAM_KEY)

    async def call_seq(self) -> int:
        """The last CALL_EVENTS sequence applied to the generation in use."""
        return await self._applied(CALL_STREAM_KEY)

    async def park_campaign_event(self, envelope: Envelope, exc: Exception) -> bool:
        return await self._park(CAMPAIGN_STREAM_KEY, envelope, exc)

    async def park_call_event(self, envelope: Envelope, exc: Exception) -> bool:
        return await self._park(CALL_STREAM_KEY, envelope, exc)

    async def _park(self, key: str, envelope: Envelope, exc: Exception) -> bool:
        """Skips a message that cannot be stored, recording it in `stats_parked` (an
        operator finds it there and in the log); not while the database is unreachable."""
        if self.db.is_transient(exc):
            return False

        def work(cur: Cursor) -> bool:
            return park(cur, active_tables(cur, lock="share"), key, envelope, repr(exc))

        parked = await self.db.run(work)
        if parked:
            MESSAGES_PARKED.labels(PARKED_STREAM[key], "unstorable").inc()
            with correlation_scope(envelope.correlation_id):
                log.error(
                    "event_parked",
                    stream=key,
                    seq=envelope.seq,
                    subject=envelope.subject,
                    error=repr(exc),
                )
            if key == CAMPAIGN_STREAM_KEY:
                self._advance(envelope.position)
        return parked

    async def _applied(self, key: str) -> int:
        def read(cur: Cursor) -> int:
            return read_checkpoint(cur, active_tables(cur), key).seq

        return await self.db.run(read)

    def _advance(self, position: int) -> None:
        if position > self.position:
            self.position = position
            self._moved.set()
            self._moved = asyncio.Event()

    async def wait_for(self, position: int, timeout: float = 2.0) -> int:
        """Waits until `position` is applied or `timeout` passes; the position reached."""
        deadline = time.monotonic() + timeout
        while self.position < position:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                await asyncio.wait_for(self._moved.wait(), min(left, 0.25))
            except TimeoutError:
                # Another instance (or a rebuild's swap) may have moved the store.
                self._advance(await self.db.run(applied_position))
        return self.position
