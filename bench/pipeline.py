"""pipeline: call events/s from the dialer (simulated carrier, top speed, a clock an hour a
second) through JetStream into the stats read models, on PostgreSQL, measured from the first
call event stored to the list query showing every number final; baseline: raw nats-py
JetStream publish + pull-consume of as many messages of the same size."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from nats.aio.client import Client

from bench import raw
from bench.campaigns import campaign_body, create_campaigns, final_count, list_campaigns, wait_rows
from bench.common import Result, ratio
from bench.stackrun import new_account, start_services
from tests.stack import Stack
from zvonar_contracts import subjects

GOAL_RATE = 20_000.0
GOAL_RATIO = 0.45
GOAL = "≥ 20,000/s and ≥ 0.45× raw"


@dataclass(frozen=True)
class Size:
    campaigns: int
    numbers: int

    @property
    def calls(self) -> int:
        return self.campaigns * self.numbers


def size_for(quick: bool) -> Size:
    return Size(10, 2_000) if quick else Size(100, 10_000)


async def run(stack: Stack, nc: Client, quick: bool) -> Result:
    """Needs the stack running without its dialer; starts the dialer."""
    size = size_for(quick)
    account_id, key = new_account(stack, "bench pipeline")
    bodies = [campaign_body(i, size.numbers) for i in range(size.campaigns)]
    setup_started = time.perf_counter()
    await create_campaigns(stack.base_url, key, bodies)
    await wait_rows(nc, account_id, size.campaigns, {"accepted"}, timeout=300)
    setup_seconds = time.perf_counter() - setup_started

    start_services(stack, ("dialer",))
    final_at = await _wait_all_final(nc, account_id, size, timeout=1800)
    first = await nc.jetstream().get_msg(subjects.CALL_EVENTS_STREAM, seq=1)
    assert first.time is not None
    seconds = final_at - first.time.timestamp()
    rate = size.calls / seconds

    info = await nc.jetstream().stream_info(subjects.CALL_EVENTS_STREAM)
    payload_bytes = int(info.state.bytes / max(1, info.state.messages))
    sample = await nc.jetstream().get_msg(subjects.CALL_EVENTS_STREAM, seq=1)
    payload = sample.data or b"x" * payload_bytes
    baseline = await raw.publish_and_consume(stack.nats_url, size.calls, payload)
    return Result(
        name="pipeline",
        what=f"call events/s dialer→JetStream→stats, {size.campaigns}×{size.numbers:,}, PG",
        figure=rate,
        unit="/s",
        baseline=baseline,
        ratio=ratio(rate, baseline),
        goal=GOAL,
        met=rate >= GOAL_RATE and rate >= GOAL_RATIO * baseline,
        details={
            "calls": size.calls,
            "seconds": seconds,
            "setup_seconds": setup_seconds,
            "payload_bytes": len(payload),
            "stored_bytes_per_message": payload_bytes,
            "account_id": account_id,
        },
    )


async def _wait_all_final(nc: Client, account_id: str, size: Size, timeout: float) -> float:
    """Wall time (epoch seconds) of the first list answer showing every number final."""
    deadline = time.monotonic() + timeout
    while True:
        rows = await list_campaigns(nc, account_id)
        seen = time.time()
        done = sum(final_count(r) for r in rows if r.parent_id is None)
        if done >= size.calls:
            return seen
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {done} of {size.calls} numbers final")
        await asyncio.sleep(0.1)
