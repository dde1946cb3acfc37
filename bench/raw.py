"""Raw baselines measured in the same run, each with the client's best practice and no
service in between:

- `publish_and_consume`: JetStream publish and consume in two separate processes (as the
  system publishes from the dialer and consumes in stats). The publisher keeps a window
  of acknowledged `publish_async` publishes in flight and waits for the last with
  `publish_async_completed`; the consumer pulls on an inbox of its own, keeps two batches
  requested ahead (prefetch) and acknowledges only the last message of each batch
  (`AckPolicy.ALL`). Same payload, same subject shape and message-id header as the call
  events, on a fresh stream.
- `read_streams`: reading existing streams with the very reader `zvonar-stats rebuild`
  uses (`read_stream`, its batch size), without applying anything.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import multiprocessing
import time
import uuid
from collections.abc import Callable, Coroutine
from multiprocessing.synchronize import Barrier
from typing import Any

import nats
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from zvonar_runtime.jetstream import stream_config

# Acknowledged publishes in flight at once: enough to hide the round trip.
PUBLISH_WINDOW = 1000
# Messages a pull request asks for; two requests are kept open (prefetch).
PULL_BATCH = 1000
PREFETCH_BATCHES = 2
# The rebuild's own batch (zvonar_stats.entrypoints.rebuild.rebuild's default).
REBUILD_BATCH = 5000
TIMEOUT_SECONDS = 600.0


async def publish_and_consume(
    nats_url: str, count: int, payload: bytes, campaigns: int = 100
) -> dict[str, Any]:
    """Events/s end to end — from the first publish to the last of `count` messages
    consumed — with publisher and consumer in processes of their own, through a fresh
    file-backed stream configured like the call-events one. Also the publisher's own rate
    (first publish to last ack)."""
    nc = await nats.connect(nats_url, name="bench-raw")
    js = nc.jetstream()
    tag = uuid.uuid4().hex[:8]
    stream = f"BENCH_RAW_{tag.upper()}"
    # The call events' shape, `call.events.<campaign>.CallCompleted`, under a root of its own.
    root = f"raw{tag}.events"
    await js.add_stream(stream_config(stream, (f"{root}.>",)))
    consumer = "raw"
    await js.add_consumer(
        stream,
        ConsumerConfig(
            durable_name=consumer,
            ack_policy=AckPolicy.ALL,
            deliver_policy=DeliverPolicy.ALL,
            max_ack_pending=PULL_BATCH * PREFETCH_BATCHES * 4,
            max_waiting=64,
        ),
    )
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2, timeout=120)
    out: multiprocessing.Queue[tuple[str, dict[str, Any]]] = context.Queue()
    processes = [
        context.Process(
            target=_process_main,
            name="bench-raw-publisher",
            daemon=True,
            args=("publisher", (nats_url, root, count, payload, campaigns), barrier, out),
        ),
        context.Process(
            target=_process_main,
            name="bench-raw-consumer",
            daemon=True,
            args=("consumer", (nats_url, stream, consumer, count), barrier, out),
        ),
    ]
    try:
        for process in processes:
            process.start()
        reports: dict[str, dict[str, Any]] = {}
        for _ in processes:
            role, report = await asyncio.to_thread(out.get, True, TIMEOUT_SECONDS)
            if "error" in report:
                raise RuntimeError(f"raw {role} failed: {report['error']}")
            reports[role] = report
        for process in processes:
            await asyncio.to_thread(process.join, 30)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join(5)
        await js.delete_stream(stream)
        await nc.close()
    publisher, consumed = reports["publisher"], reports["consumer"]
    end_to_end = consumed["last_at"] - publisher["first_at"]
    return {
        "rate": count / end_to_end,
        "publish_rate": count / (publisher["acked_at"] - publisher["first_at"]),
        "messages": count,
        "payload_bytes": len(payload),
        "publish_errors": publisher["errors"],
        "consumer_acks": consumed["acks"],
        "publish_window": PUBLISH_WINDOW,
        "pull_batch": PULL_BATCH,
        "prefetch_batches": PREFETCH_BATCHES,
    }


def _process_main(
    role: str, args: tuple[Any, ...], barrier: Barrier, out: multiprocessing.Queue[Any]
) -> None:
    """Entry point of a raw process: runs its side, puts its report (or its error) on `out`."""
    work: Callable[..., Coroutine[Any, Any, dict[str, Any]]] = (
        _publisher if role == "publisher" else _consumer
    )
    try:
        report = asyncio.run(work(*args, barrier))
    except BaseException as exc:
        barrier.abort()
        out.put((role, {"error": f"{type(exc).__name__}: {exc}"}))
        raise
    out.put((role, report))


async def _publisher(
    nats_url: str, root: str, count: int, payload: bytes, campaigns: int, barrier: Barrier
) -> dict[str, Any]:
    nc = await nats.connect(nats_url, name="bench-raw-publisher")
    js = nc.jetstream(publish_async_max_pending=PUBLISH_WINDOW)
    errors = 0

    def check(future: asyncio.Future[Any]) -> None:
        nonlocal errors
        if future.cancelled() or future.exception() is not None:
            errors += 1

    try:
        await asyncio.to_thread(barrier.wait)
        first_at = time.time()
        for i in range(count):
            campaign = 1 + i % campaigns
            # As the dialer: a message id per call (the stream dedupes on it).
            headers = {"Nats-Msg-Id": f"{campaign}-0-+7916{i:07d}-1"}
            future = await js.publish_async(
                f"{root}.{campaign}.CallCompleted", payload, headers=headers
            )
            future.add_done_callback(check)
        async with asyncio.timeout(TIMEOUT_SECONDS):
            await js.publish_async_completed()
        acked_at = time.time()
    finally:
        await nc.close()
    return {"first_at": first_at, "acked_at": acked_at, "errors": errors}


async def _consumer(
    nats_url: str, stream: str, consumer: str, count: int, barrier: Barrier
) -> dict[str, Any]:
    nc = await nats.connect(nats_url, name="bench-raw-consumer")
    inbox = nc.new_inbox()
    subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
    request = json.dumps({"batch": PULL_BATCH, "expires": 2_000_000_000}).encode()
    open_requests: collections.deque[int] = collections.deque()  # messages each still owes
    received = acks = 0
    last_at = 0.0
    done = asyncio.Event()

    async def ask() -> None:
        while sum(open_requests) < PULL_BATCH * PREFETCH_BATCHES:
            open_requests.append(PULL_BATCH)
            await nc.publish(subject, request, reply=inbox)

    async def arrived(msg: Msg) -> None:
        nonlocal received, acks, last_at
        if not msg.data:  # a status: 408 the request expired, 100 a heartbeat, 409 …
            status = (msg.headers or {}).get("Status")
            if status != "100" and open_requests:
                open_requests.popleft()
                await ask()
            return
        received += 1
        if open_requests:
            open_requests[0] -= 1
        if received >= count:
            last_at = time.time()
            await msg.ack()  # AckPolicy.ALL: acknowledges everything before it too
            acks += 1
            done.set()
            return
        if open_requests and open_requests[0] <= 0:  # the last of its batch
            open_requests.popleft()
            await msg.ack()
            acks += 1
            await ask()

    sub = await nc.subscribe(inbox, cb=arrived, pending_msgs_limit=PULL_BATCH * 64)
    try:
        await ask()
        await nc.flush()
        await asyncio.to_thread(barrier.wait)
        deadline = time.monotonic() + TIMEOUT_SECONDS
        seen = -1
        while not done.is_set():
            if time.monotonic() > deadline:
                raise TimeoutError(f"consumed {received} of {count}")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(3.0):
                    await done.wait()
            if not done.is_set() and received == seen:  # nothing for 3 s: ask again
                open_requests.clear()
                await ask()
            seen = received
        await nc.flush()
    finally:
        await sub.unsubscribe()
        await nc.close()
    return {"last_at": last_at, "received": received, "acks": acks}


async def read_streams(nats_url: str, streams: tuple[str, ...]) -> tuple[int, float]:
    """(messages, messages/s) of reading every message of `streams` from sequence 1 with
    the reader the rebuild uses (`zvonar_stats.adapters.streams.read_stream`, own-inbox
    pull requests, envelopes decoded as the rebuild gets them, the rebuild's batch size):
    what the rebuild has to read, without the applying."""
    from zvonar_stats.adapters.streams import read_stream

    nc = await nats.connect(nats_url, name="bench-raw-read")
    js = nc.jetstream()
    total = 0
    started = time.perf_counter()
    try:
        for stream in streams:
            async for envelopes in read_stream(js, stream, batch=REBUILD_BATCH):
                total += len(envelopes)
        seconds = time.perf_counter() - started
        return total, total / seconds if seconds > 0 else 0.0
    finally:
        await nc.close()
