"""Applying a batch of either stream to the active read models, one transaction per
batch, and tracking the campaign-log position applied so queries can wait for it.

The call stream is projected whole (`apply_call_events`, checkpoint `call`) or by
partition (`partition(...)`, a checkpoint each): a partition's consumer reads every call
event and applies only its own campaigns' ones, moving its checkpoint over the others."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from zvonar_runtime.correlation import correlation_scope
from zvonar_stats.domain.checkpoint import Checkpoint
from zvonar_stats.domain.envelope import Envelope
from zvonar_stats.domain.partitions import CallPartition
from zvonar_stats.service_layer.ports import ProjectionStore

log = structlog.get_logger("zvonar.stats.projection")
# The checkpoints of the two streams projected whole (the schema's stream keys).
CAMPAIGN_KEY = "campaign"
CALL_KEY = "call"


class Projector:
    """The stats service's write path: both streams into the generation in use."""

    def __init__(self, store: ProjectionStore) -> None:
        self.store = store
        self.position = 0
        self._moved = asyncio.Event()

    async def open(self) -> None:
        await self.store.open()
        self._advance(await self.store.applied_position())

    async def apply_campaign_events(self, batch: Sequence[Envelope]) -> Checkpoint:
        reached = await self.store.apply_campaign_events(batch)
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
        """The whole call stream's batch, under the `call` checkpoint."""
        through = batch[-1].seq if batch else 0
        return await self.store.apply_call_events(batch, key=CALL_KEY, through=through)

    def partition(self, partition: CallPartition) -> PartitionFeed:
        return PartitionFeed(self, partition)

    async def campaign_seq(self) -> int:
        """The last CAMPAIGN_EVENTS sequence applied to the generation in use."""
        return await self.store.checkpoint(CAMPAIGN_KEY)

    async def call_seq(self, partitions: int = 0) -> int:
        """The CALL_EVENTS sequence up to which every call is applied: the whole stream's
        checkpoint, or with `partitions`, the least of theirs."""
        if partitions <= 0:
            return await self.store.checkpoint(CALL_KEY)
        seqs = [
            await self.store.checkpoint(CallPartition(index, partitions).key)
            for index in range(partitions)
        ]
        return min(seqs)

    async def park_campaign_event(self, envelope: Envelope, error: str) -> bool:
        return await self._park(CAMPAIGN_KEY, CAMPAIGN_KEY, envelope, error)

    def is_transient(self, exc: BaseException) -> bool:
        """Whether a failure says the store is out of reach (retried, never parked)."""
        return self.store.is_transient(exc)

    async def _park(self, stream: str, key: str, envelope: Envelope, error: str) -> bool:
        """Skips a message that cannot be stored, recording it in `stats_parked` (an
        operator finds it there, and in the consumer kit's `message_parked` log line and
        `zvonar_messages_parked_total`); False if it is behind the checkpoint already."""
        parked = await self.store.park(stream, key, envelope, error)
        if parked and stream == CAMPAIGN_KEY:
            self._advance(envelope.position)
        return parked

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
                self._advance(await self.store.applied_position())
        return self.position


@dataclass(frozen=True)
class PartitionFeed:
    """One call partition's position, apply and park, for its consumer."""

    projector: Projector
    partition: CallPartition

    async def position(self) -> int:
        return await self.projector.store.checkpoint(self.partition.key)

    async def apply(self, batch: Sequence[Envelope]) -> Checkpoint:
        mine = [e for e in batch if self.partition.holds(e.subject)]
        through = batch[-1].seq if batch else 0
        return await self.projector.store.apply_call_events(
            mine, key=self.partition.key, through=through
        )

    async def park(self, envelope: Envelope, error: str) -> bool:
        return await self.projector._park(CALL_KEY, self.partition.key, envelope, error)
