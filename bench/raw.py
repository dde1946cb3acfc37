"""Raw baselines measured in the same run: nats-py JetStream publish + pull-consume with no
service in between, and a bare pull-consume of an existing stream."""

from __future__ import annotations

import asyncio
import time
import uuid

import nats
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from zvonar_runtime.jetstream import stream_config

# Acknowledged publishes in flight at once: enough to hide the round trip.
PUBLISH_WINDOW = 1000
FETCH_BATCH = 1000


async def publish_and_consume(nats_url: str, count: int, payload: bytes) -> float:
    """Messages/s from the first publish to the last ack of `count` messages of
    `payload`'s size, through a fresh file-backed stream like the call-events one."""
    nc = await nats.connect(nats_url, name="bench-raw")
    js = nc.jetstream()
    name = f"BENCH_RAW_{uuid.uuid4().hex[:8].upper()}"
    subject = f"bench.raw.{name}"
    await js.add_stream(stream_config(name, (f"{subject}.>",)))
    try:
        config = ConsumerConfig(
            durable_name="raw",
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            max_ack_pending=FETCH_BATCH * 2,
        )
        sub = await js.pull_subscribe(f"{subject}.>", durable="raw", stream=name, config=config)
        started = time.perf_counter()
        publisher = asyncio.create_task(_publish(js, subject, count, payload))
        consumed = 0
        while consumed < count:
            try:
                msgs = await sub.fetch(FETCH_BATCH, timeout=1.0)
            except NatsTimeout:
                if publisher.done():
                    await publisher  # re-raises a failed publish
                continue
            for msg in msgs:
                await msg.ack()
            consumed += len(msgs)
        await publisher
        return count / (time.perf_counter() - started)
    finally:
        await js.delete_stream(name)
        await nc.close()


async def _publish(js: nats.js.JetStreamContext, subject: str, count: int, payload: bytes) -> None:
    """Acknowledged publishes, pipelined: publish_async keeps up to its window in flight."""
    pending = []
    for i in range(count):
        headers = {"Nats-Msg-Id": f"m{i}"}
        pending.append(await js.publish_async(f"{subject}.{i % 100}", payload, headers=headers))
        if len(pending) >= PUBLISH_WINDOW:
            await asyncio.gather(*pending)
            pending = []
    await asyncio.gather(*pending)


async def pull_consume(nats_url: str, streams: tuple[str, ...]) -> tuple[int, float]:
    """(messages, messages/s) of reading every message of `streams` from sequence 1 with an
    ephemeral pull consumer, no acks, batches of 1000 — what a replay has to read."""
    nc = await nats.connect(nats_url, name="bench-raw-read")
    js = nc.jetstream()
    total = 0
    started = time.perf_counter()
    try:
        for stream in streams:
            info = await js.stream_info(stream)
            last = int(info.state.last_seq)
            config = ConsumerConfig(
                ack_policy=AckPolicy.NONE,
                deliver_policy=DeliverPolicy.ALL,
                inactive_threshold=30.0,
                max_waiting=1,
            )
            subject = (info.config.subjects or [">"])[0]
            sub = await js.pull_subscribe(subject, stream=stream, config=config)
            seq = 0
            while seq < last:
                try:
                    msgs = await sub.fetch(FETCH_BATCH, timeout=2.0)
                except NatsTimeout:
                    break
                seq = msgs[-1].metadata.sequence.stream
                total += len(msgs)
            await sub.unsubscribe()
        seconds = time.perf_counter() - started
        return total, total / seconds if seconds > 0 else 0.0
    finally:
        await nc.close()
