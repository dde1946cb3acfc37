"""The projection's consumers, on the runtime's consumer kit: however they are
interrupted — an instance cancelled with a batch fetched and not applied, applies that
fail, a second instance on the same durable consumer and store, the consumer deleted on
the server — every call takes effect once; a call that cannot be stored is parked.

(Before holes were filled from the stream, an instance killed with a batch fetched but
not applied lost it: the next instance applied the later messages, and the pending ones,
redelivered after the ack wait, fell below the checkpoint and were skipped.)"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from prometheus_client import REGISTRY

from tests.integration.stats.conftest import eventually
from zvonar_contracts import queries as q
from zvonar_contracts import subjects
from zvonar_contracts.codec import encode
from zvonar_contracts.options import Size
from zvonar_runtime.consumer import Message, Parked
from zvonar_stats.adapters.checkpoints import parked
from zvonar_stats.adapters.store import SqlStore
from zvonar_stats.adapters.streams import HoleFailed, _Feed, consume
from zvonar_stats.domain.envelope import Envelope
from zvonar_stats.entrypoints.check import find_differences
from zvonar_stats.service_layer.projection import Projector

pytestmark = pytest.mark.integration

NUMBERS = 300


class Outage(Exception):
    """The store out of reach (the kit retries it for as long as it lasts, never parks)."""


async def test_interrupted_and_doubled_consumers_apply_every_call_once(
    stats: Any, feed: Any, nc: Any
) -> None:
    js = nc.jetstream()
    await feed.campaign(feed.created(0, count=NUMBERS), feed.created(1, count=NUMBERS))
    rng = random.Random(7)

    # A second instance on the same store and durable consumer, whose applies fail now and
    # then, and which is cancelled halfway now and then (what it fetched stays pending).
    second = Projector(SqlStore(stats.app.db))
    await second.open()
    applied = {"batches": 0, "failed": 0}

    async def flaky(batch: Sequence[Envelope]) -> object:
        if rng.random() < 0.3:
            applied["failed"] += 1
            raise Outage("injected: the database went away mid-batch")
        applied["batches"] += 1
        return await second.apply_call_events(batch)

    def start_second() -> asyncio.Task[None]:
        reader = consume(
            nc,
            stream=subjects.CALL_EVENTS_STREAM,
            durable=stats.settings.call_durable,
            position=second.call_seq,
            apply=flaky,
            transient=lambda exc: isinstance(exc, Outage),
            batch=stats.settings.batch_size,
        )
        return asyncio.create_task(reader)

    task = start_second()
    deleted = 0
    try:
        for n in range(NUMBERS):
            answered = n % 3 != 0
            for offset in (0, 1):
                await feed.calls(
                    feed.call(
                        f"+7916{offset}{n:06d}",
                        "answered" if answered else "no_answer",
                        offset=offset,
                        cost="0.10" if answered else "0.00",
                    )
                )
            if n % 60 == 30:
                # Cancelled halfway through whatever it was doing, then started again.
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                task = start_second()
            if n % 100 == 50:
                # The server loses the durable consumer both instances share.
                with contextlib.suppress(Exception):
                    await js.delete_consumer(
                        subjects.CALL_EVENTS_STREAM, stats.settings.call_durable
                    )
                    deleted += 1
        last = (await js.stream_info(subjects.CALL_EVENTS_STREAM)).state.last_seq

        async def caught_up() -> bool:
            return bool(await stats.app.projector.call_seq() >= last)

        await eventually(caught_up, timeout=60)  # the tail may wait out a failed nak delay
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert deleted > 0 and applied["failed"] > 0 and applied["batches"] > 0, (deleted, applied)

    assert await find_differences(stats.app.db, js) == []
    for offset in (0, 1):
        reply = await feed.ask(q.GetCampaign(campaign_id=feed.cid(offset), account_id=None))
        answered_calls = sum(1 for n in range(NUMBERS) if n % 3 != 0)
        assert reply.campaign.size == Size(
            total=NUMBERS, answered=answered_calls, not_answered=NUMBERS - answered_calls
        )
        assert reply.campaign.cost == Decimal("0.10") * answered_calls


async def test_a_message_that_cannot_be_stored_is_parked_and_the_rest_goes_on(
    stats: Any, feed: Any, nc: Any
) -> None:
    js = nc.jetstream()
    await feed.campaign(feed.created(0, count=2))
    # A call the tables cannot hold: its campaign number is past a 64-bit integer.
    first = feed.call("+79160000001", cost="0.10")
    bad = msgspec.structs.replace(first, campaign_id=2**70, call_id=f"{2**70}-{feed.base}-x-1")
    await feed.calls(first)
    labels = {"stream": subjects.CALL_EVENTS_STREAM, "reason": "failed_repeatedly"}
    parked_before = REGISTRY.get_sample_value("zvonar_messages_parked_total", labels) or 0.0
    ack = await js.publish(
        subjects.call_event_subject(bad.campaign_id, "CallCompleted"),
        encode(bad),
        headers={subjects.MSG_ID_HEADER: bad.call_id},
    )
    try:
        await feed.calls(feed.call("+79160000002", cost="0.10"))

        async def both_counted() -> bool:
            reply = await feed.ask(q.GetCampaign(campaign_id=feed.cid(0), account_id=None))
            view = getattr(reply, "campaign", None)  # not found until the Created is applied
            return view is not None and view.size.answered == 2

        await eventually(both_counted, timeout=60)

        async def bad_one_parked() -> bool:
            # Its partition's consumer parks it; the other partitions went on meanwhile.
            return bool(await stats.app.db.run(parked))

        await eventually(bad_one_parked, timeout=60)
        rows = await stats.app.db.run(parked)
        assert [(stream, seq) for stream, seq, _, _ in rows] == [("call", ack.seq)]
        assert rows[0][2].startswith("call.events.") and rows[0][3]
        # Parked by the consumer kit's policy (its 5th failed delivery), counted by its metric.
        parked_after = REGISTRY.get_sample_value("zvonar_messages_parked_total", labels)
        assert parked_after == parked_before + 1
        reply = await feed.ask(q.GetCampaign(campaign_id=feed.cid(0), account_id=None))
        assert reply.campaign.size == Size(total=2, answered=2)
        assert reply.campaign.cost == Decimal("0.20")
    finally:
        # The streams are shared by the module's tests: the next reader need not meet it.
        await js.delete_msg(subjects.CALL_EVENTS_STREAM, ack.seq)


async def test_a_failing_message_in_a_hole_is_not_parked_on_a_later_one(feed: Any, nc: Any) -> None:
    # Three calls; only the third is delivered (the first two are pending elsewhere, say
    # with a killed instance), and the second cannot be stored. The third must not be
    # parked for it: skipping past the third would skip the second unrecorded.
    js = nc.jetstream()
    await feed.calls(*(feed.call(f"+7916777000{n}", cost="0.10") for n in (1, 2, 3)))
    last = int((await js.stream_info(subjects.CALL_EVENTS_STREAM)).state.last_seq)
    first, bad, third = last - 2, last - 1, last
    store = {"applied": first - 1}
    recorded: list[int] = []

    async def position() -> int:
        return store["applied"]

    async def apply(batch: Sequence[Envelope]) -> object:
        if any(e.seq == bad for e in batch):
            raise ValueError("injected: cannot be stored")
        store["applied"] = batch[-1].seq
        return None

    async def record(envelope: Envelope, error: str) -> bool:
        recorded.append(envelope.seq)
        store["applied"] = envelope.seq
        return True

    reader = _Feed(js, subjects.CALL_EVENTS_STREAM, position, apply, record, batch=10)
    reader.applied = await position()
    got = await js.get_msg(subjects.CALL_EVENTS_STREAM, third)
    message = Message(got.subject, got.data or b"", {}, third, 5, "")
    with pytest.raises(HoleFailed):
        await reader.handle([(message.data, message)])
    # The kit treats HoleFailed as transient: nakked, never parked. Were it parked anyway,
    # the park hook fills the hole first, and fails the same way before recording anything.
    with pytest.raises(HoleFailed):
        await reader.park(Parked(subjects.CALL_EVENTS_STREAM, "d", message, "x", "e"))
    assert recorded == [] and store["applied"] == first - 1  # the hole is one transaction
    # The bad one itself, delivered and parked: recorded, and the third follows on.
    got_bad = await js.get_msg(subjects.CALL_EVENTS_STREAM, bad)
    bad_message = Message(got_bad.subject, got_bad.data or b"", {}, bad, 5, "")
    await reader.park(Parked(subjects.CALL_EVENTS_STREAM, "d", bad_message, "x", "e"))
    await reader.handle([(message.data, message)])
    assert recorded == [bad] and store["applied"] == third
