"""Replay: fill the next generation of tables from sequence 1 of both streams while the
service keeps serving the active one, then swap in one transaction and drop the old.

The first pass over the call stream writes into empty tables only this command writes, so
it looks nothing up (apply_call_replay) and counts the numbers' results once at its end;
the generation is then analyzed, and any later pass (the tail the running service added
meanwhile) goes through the service's own apply_call_batch.

The swap happens only once the new generation has applied at least every message the
running service has applied to the old one (checked under the meta row's lock, which
every projection transaction shares), so no message falls between the two.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from nats.js import JetStreamContext
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from zvonar_contracts import subjects
from zvonar_runtime.db import Cursor, Database
from zvonar_runtime.jetstream import connect
from zvonar_runtime.natsconn import NatsAuth
from zvonar_stats.adapters.call_projection import (
    apply_call_batch,
    apply_call_replay,
    finish_call_replay,
)
from zvonar_stats.adapters.campaign_projection import apply_campaign_batch
from zvonar_stats.adapters.checkpoints import Checkpoint, calls_applied, read_checkpoint
from zvonar_stats.adapters.schema import (
    CALL_STREAM_KEY,
    CAMPAIGN_STREAM_KEY,
    Tables,
    active_tables,
    analyze_generation,
    drop_generation,
    ensure_schema,
    recreate_generation,
    switch_generation,
)
from zvonar_stats.adapters.streams import last_seq, read_stream
from zvonar_stats.domain.envelope import Envelope
from zvonar_stats.settings import StatsSettings

Apply = Callable[[Cursor, Tables, Sequence[Envelope]], Checkpoint]
STREAMS: tuple[tuple[str, str, Apply], ...] = (
    (subjects.CAMPAIGN_EVENTS_STREAM, CAMPAIGN_STREAM_KEY, apply_campaign_batch),
    (subjects.CALL_EVENTS_STREAM, CALL_STREAM_KEY, apply_call_batch),
)


@dataclass(frozen=True)
class RebuildResult:
    events: int
    seconds: float
    generation: int

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


async def rebuild(
    db: Database,
    js: JetStreamContext,
    *,
    batch: int = 5000,
    on_progress: Callable[[int], None] | None = None,
) -> RebuildResult:
    started = time.perf_counter()
    old = await db.run(ensure_schema)
    new = Tables(old.generation + 1)
    await db.run(lambda cur: recreate_generation(cur, new))
    first_pass = {CALL_STREAM_KEY: apply_call_replay}
    events = 0
    for stream, key, apply in STREAMS:
        events += await _replay(
            db, js, new, stream, key, first_pass.get(key, apply), batch, on_progress
        )
    await db.run(lambda cur: finish_call_replay(cur, new))
    await db.run(lambda cur: analyze_generation(cur, new))
    while (replaced := await db.run(lambda cur: _swap_if_caught_up(cur, new))) is None:
        for stream, key, apply in STREAMS:
            events += await _replay(db, js, new, stream, key, apply, batch, on_progress)
    await db.run(lambda cur: drop_generation(cur, replaced))
    return RebuildResult(events, time.perf_counter() - started, new.generation)


async def _replay(
    db: Database,
    js: JetStreamContext,
    new: Tables,
    stream: str,
    key: str,
    apply: Apply,
    batch: int,
    on_progress: Callable[[int], None] | None,
) -> int:
    """Applies the stream from past the generation's checkpoint to its tail; how many
    messages were read."""
    start = (await db.run(lambda cur: read_checkpoint(cur, new, key))).seq + 1
    events = 0
    async for envelopes in read_ahead(read_stream(js, stream, start=start, batch=batch)):

        def apply_batch(cur: Cursor, batch: Sequence[Envelope] = envelopes) -> Checkpoint:
            return apply(cur, new, batch)

        await db.run(apply_batch)
        events += len(envelopes)
        if on_progress is not None:
            on_progress(len(envelopes))
    return events


async def read_ahead(
    batches: AsyncIterator[list[Envelope]], depth: int = 2
) -> AsyncIterator[list[Envelope]]:
    """The next batches are read from NATS while the database applies the current one."""
    queue: asyncio.Queue[list[Envelope] | BaseException | None] = asyncio.Queue(depth)

    async def read() -> None:
        try:
            async for item in batches:
                await queue.put(item)
            await queue.put(None)
        except BaseException as exc:
            await queue.put(exc)

    reader = asyncio.create_task(read())
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


def _swap_if_caught_up(cur: Cursor, new: Tables) -> Tables | None:
    """Swaps if the new generation has applied every message the old one has — for the
    call stream, every message any of its partitions has (the new generation's partitions
    go on from its whole-stream checkpoint)."""
    old = active_tables(cur, lock="update")
    if read_checkpoint(cur, new, CAMPAIGN_STREAM_KEY).seq < (
        read_checkpoint(cur, old, CAMPAIGN_STREAM_KEY).seq
    ):
        return None
    if read_checkpoint(cur, new, CALL_STREAM_KEY).seq < calls_applied(cur, old).last:
        return None
    switch_generation(cur, new)
    return old


async def rebuild_cli(settings: StatsSettings) -> RebuildResult:
    console = Console()
    nc = await connect(
        settings.nats_url,
        f"stats-rebuild-{settings.instance_id}",
        auth=NatsAuth.from_settings(settings),
    )
    db = settings.database()
    try:
        js = nc.jetstream()
        total = sum([await last_seq(js, stream) for stream, _, _ in STREAMS])
        columns = (
            *Progress.get_default_columns()[:-1],
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        # The bar on stderr (stdout carries the result), and only on a terminal: off one (a
        # script, a log) its refresh thread would only take CPU.
        bar_console = Console(stderr=True)
        with Progress(
            *columns, console=bar_console, disable=not bar_console.is_terminal
        ) as progress:
            task = progress.add_task("replaying both streams", total=total)
            result = await rebuild(db, js, on_progress=lambda n: progress.advance(task, n))
        console.print(
            f"rebuilt generation {result.generation}: {result.events} events in "
            f"{result.seconds:.2f} s = {result.events_per_second:,.0f} events/s"
        )
        return result
    finally:
        await db.aclose()
        await nc.close()


__all__ = ["BarColumn", "RebuildResult", "rebuild", "rebuild_cli"]
