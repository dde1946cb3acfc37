"""The runtime's consumer kit on a real nats-server: each message handled and acked once,
a failing one nakked and tried again, parked (terminated, hooked, counted) when it cannot
be decoded or keeps failing, transient failures never parked, batches handled whole or
split to find the bad message, and a stop that lets the batch in hand finish."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import msgspec
import pytest
import structlog
from nats.aio.client import Client
from nats.js.api import StreamConfig
from prometheus_client import REGISTRY

from zvonar_contracts.subjects import CORRELATION_HEADER
from zvonar_runtime.consumer import Consumer, ConsumerSpec, Message, Parked
from zvonar_runtime.jetstream import connect

pytestmark = pytest.mark.integration


class Order(msgspec.Struct, frozen=True):
    number: int


def decode(data: bytes) -> Order:
    return msgspec.json.decode(data, type=Order)


async def eventually(check: Callable[[], Awaitable[bool] | bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if result if isinstance(result, bool) else await result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"not true within {timeout} s")
        await asyncio.sleep(0.02)


@dataclass
class Stream:
    nc: Client
    name: str
    prefix: str

    def spec(self, **overrides: object) -> ConsumerSpec:
        settings: dict[str, object] = {
            "stream": self.name,
            "durable": f"{self.name.lower()}-kit",
            "filter_subject": f"{self.prefix}.>",
            "batch": 10,
            "max_wait": 0.2,
            "retry_base": 0.05,
            "retry_ceiling": 0.2,
        }
        settings.update(overrides)
        return ConsumerSpec(**settings)  # type: ignore[arg-type]  # test overrides by name

    async def publish(self, body: bytes, *, correlation_id: str | None = None) -> int:
        headers = {CORRELATION_HEADER: correlation_id} if correlation_id else None
        ack = await self.nc.jetstream().publish(
            f"{self.prefix}.orders", body, stream=self.name, headers=headers
        )
        return int(ack.seq)

    async def orders(self, *numbers: int) -> list[int]:
        return [await self.publish(msgspec.json.encode(Order(n))) for n in numbers]

    async def settled(self, durable: str) -> bool:
        info = await self.nc.jetstream().consumer_info(self.name, durable)
        return bool(info.num_pending == 0 and info.num_ack_pending == 0)


@pytest.fixture
async def stream(nats_url: str) -> AsyncIterator[Stream]:
    nc = await connect(nats_url, "consumer-kit-test")
    name = f"KIT_{uuid.uuid4().hex[:10].upper()}"
    prefix = f"kit.{name.lower()}"
    await nc.jetstream().add_stream(StreamConfig(name=name, subjects=[f"{prefix}.>"]))
    try:
        yield Stream(nc, name, prefix)
    finally:
        with contextlib.suppress(Exception):
            await nc.jetstream().delete_stream(name)
        await nc.close()


@dataclass
class Seen:
    orders: list[int] = field(default_factory=list)
    correlation_ids: list[str | None] = field(default_factory=list)
    deliveries: list[tuple[int, int]] = field(default_factory=list)
    parked: list[Parked] = field(default_factory=list)
    batches: list[list[int]] = field(default_factory=list)

    async def park(self, parked: Parked) -> None:
        self.parked.append(parked)


@contextlib.asynccontextmanager
async def running(consumer: Consumer[Order]) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(consumer.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def processed(durable: str) -> float:
    value = REGISTRY.get_sample_value("zvonar_messages_processed_total", {"consumer": durable})
    return value or 0.0


def parked_count(stream: str, reason: str) -> float:
    labels = {"stream": stream, "reason": reason}
    return REGISTRY.get_sample_value("zvonar_messages_parked_total", labels) or 0.0


async def test_each_message_is_handled_once_in_order_under_its_correlation_id(
    stream: Stream,
) -> None:
    seen = Seen()
    spec = stream.spec()

    async def handle(order: Order, message: Message) -> None:
        seen.orders.append(order.number)
        seen.correlation_ids.append(structlog.contextvars.get_contextvars().get("correlation_id"))

    await stream.publish(msgspec.json.encode(Order(1)), correlation_id="cid-one")
    await stream.orders(2, 3)
    async with running(Consumer(stream.nc, spec, decode, handle=handle)):
        await eventually(lambda: len(seen.orders) == 3)
        await eventually(lambda: stream.settled(spec.durable))
    assert seen.orders == [1, 2, 3]
    assert seen.correlation_ids[0] == "cid-one"
    # A message without one gets a fresh id, never the previous message's.
    assert seen.correlation_ids[1] not in (None, "cid-one")
    assert processed(spec.durable) == 3


async def test_an_undecodable_message_is_parked_at_once_and_the_next_one_handled(
    stream: Stream,
) -> None:
    seen = Seen()
    spec = stream.spec()

    async def handle(order: Order, message: Message) -> None:
        seen.orders.append(order.number)

    before = parked_count(stream.name, "undecodable")
    bad = await stream.publish(b'{"number": "not a number"}', correlation_id="cid-bad")
    await stream.orders(7)
    consumer = Consumer(stream.nc, spec, decode, handle=handle, park=seen.park)
    async with running(consumer):
        await eventually(lambda: seen.orders == [7])
        await eventually(lambda: stream.settled(spec.durable))
    assert [(p.message.stream_seq, p.reason) for p in seen.parked] == [(bad, "undecodable")]
    assert seen.parked[0].message.correlation_id == "cid-bad"
    assert seen.parked[0].message.delivered == 1
    assert parked_count(stream.name, "undecodable") == before + 1


async def test_a_failing_message_is_nakked_and_handled_on_a_later_delivery(
    stream: Stream,
) -> None:
    seen = Seen()
    spec = stream.spec()

    async def handle(order: Order, message: Message) -> None:
        seen.deliveries.append((order.number, message.delivered))
        if message.delivered < 3:
            raise RuntimeError("not yet")
        seen.orders.append(order.number)

    await stream.orders(1)
    async with running(Consumer(stream.nc, spec, decode, handle=handle, park=seen.park)):
        await eventually(lambda: seen.orders == [1])
        await eventually(lambda: stream.settled(spec.durable))
    assert seen.deliveries == [(1, 1), (1, 2), (1, 3)]
    assert seen.parked == []


async def test_a_message_that_keeps_failing_is_parked_after_park_after_deliveries(
    stream: Stream,
) -> None:
    seen = Seen()
    spec = stream.spec(park_after=3)

    async def handle(order: Order, message: Message) -> None:
        if order.number == 13:
            seen.deliveries.append((order.number, message.delivered))
            raise ValueError("cannot store 13")
        seen.orders.append(order.number)

    before = parked_count(stream.name, "failed_repeatedly")
    await stream.orders(12, 13, 14)
    async with running(Consumer(stream.nc, spec, decode, handle=handle, park=seen.park)):
        await eventually(lambda: len(seen.parked) == 1)
        await eventually(lambda: stream.settled(spec.durable))
    assert seen.orders == [12, 14]
    assert seen.deliveries == [(13, 1), (13, 2), (13, 3)]
    assert seen.parked[0].reason == "failed_repeatedly"
    assert "cannot store 13" in seen.parked[0].error
    assert parked_count(stream.name, "failed_repeatedly") == before + 1


async def test_transient_failures_are_retried_and_never_parked(stream: Stream) -> None:
    seen = Seen()
    spec = stream.spec(park_after=1)

    async def handle(order: Order, message: Message) -> None:
        seen.deliveries.append((order.number, message.delivered))
        if message.delivered <= 3:
            raise ConnectionError("database unreachable")
        seen.orders.append(order.number)

    def transient(exc: BaseException) -> bool:
        return isinstance(exc, ConnectionError)

    await stream.orders(5)
    consumer = Consumer(stream.nc, spec, decode, handle=handle, park=seen.park, transient=transient)
    async with running(consumer):
        await eventually(lambda: seen.orders == [5])
    assert [d for _, d in seen.deliveries] == [1, 2, 3, 4]
    assert seen.parked == []


async def test_a_park_that_cannot_be_recorded_leaves_the_message_to_come_again(
    stream: Stream,
) -> None:
    seen = Seen()
    spec = stream.spec()
    attempts: list[int] = []

    async def park(parked: Parked) -> None:
        attempts.append(parked.message.delivered)
        if len(attempts) == 1:
            raise ConnectionError("parked table out of reach")
        seen.parked.append(parked)

    async def handle(order: Order, message: Message) -> None:
        seen.orders.append(order.number)

    await stream.publish(b"not json")
    async with running(Consumer(stream.nc, spec, decode, handle=handle, park=park)):
        await eventually(lambda: len(seen.parked) == 1)
        await eventually(lambda: stream.settled(spec.durable))
    assert attempts == [1, 2]


async def test_a_batch_is_handled_in_one_call_and_acked_all_at_once(stream: Stream) -> None:
    seen = Seen()
    spec = stream.spec(ack="all", batch=50, durable=f"{stream.name.lower()}-batch")

    async def apply(batch: Sequence[tuple[Order, Message]]) -> None:
        seen.batches.append([order.number for order, _ in batch])

    seqs = await stream.orders(*range(1, 21))
    async with running(Consumer(stream.nc, spec, decode, handle_batch=apply)):
        await eventually(lambda: sum(len(b) for b in seen.batches) == 20)
        await eventually(lambda: stream.settled(spec.durable))
    assert [n for b in seen.batches for n in b] == list(range(1, 21))
    assert len(seen.batches) < 20  # batched, not one by one
    info = await stream.nc.jetstream().consumer_info(stream.name, spec.durable)
    assert info.ack_floor.stream_seq == seqs[-1]


async def test_a_failing_batch_is_split_and_only_the_bad_message_parked(stream: Stream) -> None:
    seen = Seen()
    spec = stream.spec(ack="all", park_after=2, durable=f"{stream.name.lower()}-split")
    applied: list[int] = []

    async def apply(batch: Sequence[tuple[Order, Message]]) -> None:
        seen.batches.append([order.number for order, _ in batch])
        if any(order.number == 3 for order, _ in batch):
            raise ValueError("3 overflows a column")
        applied.extend(order.number for order, _ in batch)

    await stream.orders(1, 2, 3, 4, 5)
    consumer = Consumer(stream.nc, spec, decode, handle_batch=apply, park=seen.park)
    async with running(consumer):
        await eventually(lambda: sorted(applied) == [1, 2, 4, 5])
        await eventually(lambda: stream.settled(spec.durable))
    assert [(p.reason, decode(p.message.data).number) for p in seen.parked] == [
        ("failed_repeatedly", 3)
    ]
    assert applied.count(1) == 1 and applied.count(2) == 1


async def test_a_stop_lets_the_message_in_hand_finish_and_ack(stream: Stream) -> None:
    seen = Seen()
    spec = stream.spec()
    started = asyncio.Event()
    release = asyncio.Event()

    async def handle(order: Order, message: Message) -> None:
        started.set()
        await release.wait()
        seen.orders.append(order.number)

    await stream.orders(1)
    task = asyncio.create_task(Consumer(stream.nc, spec, decode, handle=handle).run())
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen.orders == [1]
    await eventually(lambda: stream.settled(spec.durable))


async def test_a_nakked_message_comes_back_after_its_back_off(stream: Stream) -> None:
    spec = stream.spec(retry_base=0.5, retry_ceiling=0.5)
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def handle(order: Order, message: Message) -> None:
        times.append(loop.time())
        if message.delivered == 1:
            raise RuntimeError("not yet")

    await stream.orders(1)
    async with running(Consumer(stream.nc, spec, decode, handle=handle)):
        await eventually(lambda: len(times) == 2)
    assert times[1] - times[0] >= 0.45


async def test_a_consumer_reads_only_the_subjects_of_its_filters(stream: Stream) -> None:
    seen = Seen()
    spec = stream.spec(filter_subject=(f"{stream.prefix}.a", f"{stream.prefix}.c"))

    async def handle(order: Order, message: Message) -> None:
        seen.orders.append(order.number)

    js = stream.nc.jetstream()
    for number, part in enumerate("abc", start=1):
        await js.publish(
            f"{stream.prefix}.{part}", msgspec.json.encode(Order(number)), stream=stream.name
        )
    async with running(Consumer(stream.nc, spec, decode, handle=handle)):
        await eventually(lambda: len(seen.orders) == 2)
        await eventually(lambda: stream.settled(spec.durable))
    assert seen.orders == [1, 3]


async def test_with_prefetch_every_message_is_handled_once_in_order(stream: Stream) -> None:
    seen = Seen()
    spec = stream.spec(batch=5, prefetch=True, ack="all", durable=f"{stream.name.lower()}-pre")

    async def apply(batch: Sequence[tuple[Order, Message]]) -> None:
        seen.batches.append([order.number for order, _ in batch])

    await stream.orders(*range(1, 24))
    async with running(Consumer(stream.nc, spec, decode, handle_batch=apply)):
        await eventually(lambda: sum(len(b) for b in seen.batches) >= 23)
        await eventually(lambda: stream.settled(spec.durable))
    assert [n for b in seen.batches for n in b] == list(range(1, 24))


async def test_a_lost_durable_is_made_again_from_where_start_says_then(stream: Stream) -> None:
    # `start` is asked at each creation: after the server loses the durable, the consumer
    # starts from the service's checkpoint of that moment, not from where it first began.
    seen = Seen()
    spec = stream.spec(durable=f"{stream.name.lower()}-start", start_sequence=1)
    checkpoint = {"seq": 1}
    asked: list[int] = []

    async def start() -> int:
        asked.append(checkpoint["seq"] + 1)
        return checkpoint["seq"] + 1

    async def handle(order: Order, message: Message) -> None:
        seen.orders.append(order.number)
        checkpoint["seq"] = message.stream_seq

    await stream.orders(1, 2, 3)
    async with running(Consumer(stream.nc, spec, decode, handle=handle, start=start)):
        await eventually(lambda: seen.orders == [2, 3])  # from 2, not spec.start_sequence
        await eventually(lambda: stream.settled(spec.durable))
        await stream.nc.jetstream().delete_consumer(stream.name, spec.durable)
        await stream.orders(4)
        await eventually(lambda: seen.orders[-1:] == [4])
    assert seen.orders == [2, 3, 4]  # nothing handled again from the first start
    assert asked == [2, 4]
