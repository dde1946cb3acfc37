"""The projections follow each stream from the checkpoint stored with the rows, so however
the readers are interrupted — cancelled halfway, an apply that fails, a second instance
on the same store, the consumer deleted under them — every call takes effect once.

(The durable consumer with acks this replaced lost messages when an instance was killed
with a batch fetched but not applied: later messages were applied by the next instance,
and the pending ones, redelivered after the ack wait, fell below the checkpoint.)"""

from __future__ import annotations

import asyncio
import contextlib
import random
from decimal import Decimal
from typing import Any

import pytest

from zvonar_contracts import queries as q
from zvonar_contracts import subjects
from zvonar_contracts.options import Size
from zvonar_stats.adapters.streams import follow
from zvonar_stats.domain.envelope import Envelope
from zvonar_stats.service_layer.check import find_differences
from zvonar_stats.service_layer.projection import Projector

pytestmark = pytest.mark.integration

NUMBERS = 300


async def test_interrupted_and_doubled_readers_apply_every_call_once(
    stats: Any, feed: Any, nc: Any
) -> None:
    js = nc.jetstream()
    await feed.campaign(feed.created(0, count=NUMBERS), feed.created(1, count=NUMBERS))
    rng = random.Random(7)

    # A second reader on the same store whose applies fail now and then.
    second = Projector(stats.app.db)
    await second.open()
    applied = {"batches": 0, "failed": 0}

    async def flaky(batch: list[Envelope]) -> object:
        if rng.random() < 0.3:
            applied["failed"] += 1
            raise RuntimeError("injected: the database went away mid-batch")
        applied["batches"] += 1
        return await second.apply_call_events(batch)

    def start_second() -> asyncio.Task[None]:
        reader = follow(js, stream=subjects.CALL_EVENTS_STREAM, position=second.call_seq,
                        apply=flaky, batch=37)  # fmt: skip
        return asyncio.create_task(reader)

    task = start_second()
    deleted = 0
    try:
        for n in range(NUMBERS):
            answered = n % 3 != 0
            for offset in (0, 1):
                await feed.calls(feed.call(
                    f"+7916{offset}{n:06d}", "answered" if answered else "no_answer",
                    offset=offset, cost="0.10" if answered else "0.00",
                ))  # fmt: skip
            if n % 60 == 30:
                # Cancelled halfway through whatever it was doing, then started again.
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                task = start_second()
            if n % 100 == 50:
                # The server loses the ephemeral consumers (both instances' readers).
                for info in await js.consumers_info(subjects.CALL_EVENTS_STREAM):
                    if not info.config.durable_name:
                        with contextlib.suppress(Exception):
                            await js.delete_consumer(subjects.CALL_EVENTS_STREAM, info.name)
                            deleted += 1
        last = (await js.stream_info(subjects.CALL_EVENTS_STREAM)).state.last_seq

        async def caught_up() -> bool:
            return await stats.app.projector.call_seq() >= last

        await feed.eventually(caught_up)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert deleted > 0 and applied["failed"] > 0 and applied["batches"] > 0, (deleted, applied)

    assert await find_differences(stats.app.db, js) == []
    for offset in (0, 1):
        reply = await feed.ask(q.GetCampaign(campaign_id=feed.cid(offset), account_id=None))
        answered = sum(1 for n in range(NUMBERS) if n % 3 != 0)
        assert reply.campaign.size == Size(
            total=NUMBERS, answered=answered, not_answered=NUMBERS - answered
        )
        assert reply.campaign.cost == Decimal("0.10") * answered
