"""consumer: CPU of the consuming process per message, in one run on one private
nats-server and the same stream — the runtime's consumer kit (per-message handler, ack
each; batch handler, ack all, with and without prefetch) against faststream as the
services used it (the runtime's broker with its correlation and metrics middleware, a pull
subscriber, ack per message) and against plain nats-py (`pull_subscribe` + `fetch`,
`msg.ack()` each). Every reader decodes each message into the same msgspec struct;
nothing else is done with it.

CPU is this process's (time.process_time, nats-server's own is not counted), from the
first fetch to the last message handled, divided by the messages.

`uv run python -m bench.consumer [--quick]` prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import tempfile
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import msgspec
import nats
from faststream import AckPolicy as FastAckPolicy
from faststream.nats import JStream, PullSub
from faststream.nats.annotations import NatsMessage
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig

from bench.common import Result, machine
from zvonar_devtools.natsserver import NatsServer
from zvonar_runtime.consumer import Consumer, ConsumerSpec, Message
from zvonar_runtime.service import make_broker
from zvonar_runtime.settings import ServiceSettings

STREAM = "BENCH_CONSUMER"
SUBJECT = "bench.consumer.orders"
BATCH = 100
# The kit may cost at most this much more CPU per message than plain nats-py.
GOAL_RATIO = 2.0


class Order(msgspec.Struct, frozen=True):
    campaign_id: int
    phone: str
    outcome: str
    seconds: int


_decoder = msgspec.json.Decoder(Order)


async def _fill(nc: Client, count: int) -> None:
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=STREAM, subjects=[SUBJECT]))
    body = msgspec.json.encode(Order(1_000_001, "+79161234567", "answered", 42))
    for start in range(0, count, 1000):
        acks = [
            asyncio.ensure_future(js.publish(SUBJECT, body, stream=STREAM))
            for _ in range(min(1000, count - start))
        ]
        await asyncio.gather(*acks)


async def _measure(
    name: str, count: int, run: Callable[[asyncio.Event, list[int]], Coroutine[Any, Any, None]]
) -> float:
    """CPU µs per message of `run` until it has counted `count` messages."""
    done = asyncio.Event()
    seen = [0]
    cpu, wall = time.process_time(), time.perf_counter()
    task = asyncio.create_task(run(done, seen))
    waiter = asyncio.create_task(done.wait())
    await asyncio.wait([task, waiter], timeout=600, return_when=asyncio.FIRST_COMPLETED)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    task.cancel()
    waiter.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    if seen[0] < count:
        raise RuntimeError(f"{name}: {seen[0]} of {count} messages in 600 s")
    print(f"  {name:<22} {cpu / count * 1e6:7.1f} µs CPU/msg  {count / wall:9.0f} msg/s")
    return cpu / count * 1e6


def _counter(count: int, done: asyncio.Event, seen: list[int]) -> Callable[[int], None]:
    def counted(n: int) -> None:
        seen[0] += n
        if seen[0] >= count:
            done.set()

    return counted


async def _raw(nc: Client, count: int, done: asyncio.Event, seen: list[int]) -> None:
    counted = _counter(count, done, seen)
    config = ConsumerConfig(
        ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL, max_ack_pending=10_000
    )
    sub = await nc.jetstream().pull_subscribe(SUBJECT, durable="raw", stream=STREAM, config=config)
    while True:
        try:
            msgs = await sub.fetch(BATCH, timeout=1.0)
        except TimeoutError:
            continue
        for msg in msgs:
            _decoder.decode(msg.data)
            await msg.ack()
        counted(len(msgs))


async def _kit(nc: Client, count: int, done: asyncio.Event, seen: list[int]) -> None:
    counted = _counter(count, done, seen)

    async def handle(order: Order, message: Message) -> None:
        counted(1)

    spec = ConsumerSpec(
        stream=STREAM, durable="kit", filter_subject=SUBJECT, batch=BATCH, max_ack_pending=10_000
    )
    await Consumer(nc, spec, _decoder.decode, handle=handle).run()


async def _kit_batch(nc: Client, count: int, done: asyncio.Event, seen: list[int]) -> None:
    await _kit_batch_of(nc, count, done, seen, prefetch=False)


async def _kit_prefetch(nc: Client, count: int, done: asyncio.Event, seen: list[int]) -> None:
    await _kit_batch_of(nc, count, done, seen, prefetch=True)


async def _kit_batch_of(
    nc: Client, count: int, done: asyncio.Event, seen: list[int], *, prefetch: bool
) -> None:
    counted = _counter(count, done, seen)

    async def apply(batch: Sequence[tuple[Order, Message]]) -> None:
        counted(len(batch))

    spec = ConsumerSpec(
        stream=STREAM,
        durable="kit-prefetch" if prefetch else "kit-batch",
        filter_subject=SUBJECT,
        batch=BATCH,
        ack="all",
        max_ack_pending=10_000,
        prefetch=prefetch,
    )
    await Consumer(nc, spec, _decoder.decode, handle_batch=apply).run()


async def _faststream(url: str, count: int, done: asyncio.Event, seen: list[int]) -> None:
    counted = _counter(count, done, seen)
    broker = make_broker(ServiceSettings(nats_url=url, service="bench"))

    @broker.subscriber(
        SUBJECT,
        stream=JStream(STREAM, declare=False),
        durable="faststream",
        pull_sub=PullSub(batch_size=BATCH, timeout=1.0),
        ack_policy=FastAckPolicy.NACK_ON_ERROR,
    )
    async def handle(msg: NatsMessage) -> None:
        _decoder.decode(msg.body)
        counted(1)

    await broker.start()
    try:
        await asyncio.Event().wait()
    finally:
        await broker.stop()


async def measure(count: int) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        NatsServer(Path(tmp) / "nats", log_file=Path(tmp) / "nats.log") as server,
    ):
        nc = await nats.connect(server.url)
        try:
            await _fill(nc, count)
            print(f"consumer: {count} messages, batches of {BATCH}")
            figures = {
                "raw_nats_py": await _measure("raw nats-py fetch", count, _curry(_raw, nc, count)),
                "kit": await _measure("kit, ack each", count, _curry(_kit, nc, count)),
                "kit_batch_ack_all": await _measure(
                    "kit, batch, ack all", count, _curry(_kit_batch, nc, count)
                ),
                "kit_batch_ack_all_prefetch": await _measure(
                    "kit, batch, prefetch", count, _curry(_kit_prefetch, nc, count)
                ),
                "faststream": await _measure(
                    "faststream", count, _curry(_faststream, server.url, count)
                ),
            }
        finally:
            await nc.close()
    return {"messages": count, "batch": BATCH, "cpu_us_per_message": figures}


def _curry(
    run: Callable[[Any, int, asyncio.Event, list[int]], Coroutine[Any, Any, None]],
    first: Any,
    count: int,
) -> Callable[[asyncio.Event, list[int]], Coroutine[Any, Any, None]]:
    def bound(done: asyncio.Event, seen: list[int]) -> Coroutine[Any, Any, None]:
        return run(first, count, done, seen)

    return bound


def run(quick: bool = False) -> Result:
    details = asyncio.run(measure(20_000 if quick else 100_000))
    us = details["cpu_us_per_message"]
    ratio = us["kit"] / us["raw_nats_py"]
    return Result(
        name="consumer",
        what="CPU per consumed message: runtime kit vs raw nats-py (faststream too)",
        figure=round(us["kit"], 1),
        unit="µs/msg",
        goal=f"kit ≤ {GOAL_RATIO:g} × raw nats-py CPU",
        met=ratio <= GOAL_RATIO,
        baseline=round(us["raw_nats_py"], 1),
        ratio=round(ratio, 2),
        details={**details, "machine": machine()},
        note=(
            f"batch+ack-all {us['kit_batch_ack_all']:.0f} µs "
            f"(prefetch {us['kit_batch_ack_all_prefetch']:.0f}), "
            f"faststream {us['faststream']:.0f} µs"
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.consumer", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20,000 messages, not 100,000")
    result = run(parser.parse_args().quick)
    print(json.dumps(result.details["cpu_us_per_message"], indent=2))
    print(
        f"kit / raw = {result.ratio} (goal ≤ {GOAL_RATIO:g}): {'met' if result.met else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
