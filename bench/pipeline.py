"""pipeline: call events/s from the dialer (simulated carrier, top speed, a clock an hour a
second) through JetStream into the stats read models, on PostgreSQL, measured from the first
call event stored to the list query showing every number final; baseline: raw nats-py
JetStream publish and consume of as many messages of the same size and subject shape, in
two processes of their own, each with the client's best practice (bench/raw.py)."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass

import httpx
from nats.aio.client import Client

from bench import profiling, raw
from bench.campaigns import campaign_body, create_campaigns, final_count, list_campaigns, wait_rows
from bench.common import Result, ratio
from bench.stackrun import new_account, start_services, stats_behind
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


# The full size would take far longer than the bench's budget at the rate this machine
# reaches: the full run measures the first TIME_BOX seconds of it, then stops the rest.
TIME_BOX_SECONDS = float(os.environ.get("BENCH_PIPELINE_SECONDS", "240"))
STEADY_WINDOW_SECONDS = 30.0
POLL_SECONDS = float(os.environ.get("BENCH_PIPELINE_POLL", "1.0"))


async def run(stack: Stack, nc: Client, quick: bool) -> Result:
    """Needs the stack running without its dialer; starts the dialer."""
    size = size_for(quick)
    account_id, key = new_account(stack, "bench pipeline")
    bodies = [campaign_body(i, size.numbers) for i in range(size.campaigns)]
    setup_started = time.perf_counter()
    ids = await create_campaigns(stack.base_url, key, bodies)
    await wait_rows(nc, account_id, size.campaigns, {"accepted"}, timeout=600)
    setup_seconds = time.perf_counter() - setup_started

    start_services(stack, ("dialer",))
    js = nc.jetstream()
    profile: dict[str, object] = {}
    pids = {s: stack.processes[s].pid for s in ("dialer", "stats")}
    with profiling.sampled("pipeline", pids, profile):
        first_at = await _first_call_at(nc)
        boxed = not quick or "BENCH_PIPELINE_SECONDS" in os.environ
        box = first_at + TIME_BOX_SECONDS if boxed else None
        samples: list[tuple[float, int]] = []
        final, final_at = await _wait_final(nc, account_id, size.calls, box, samples)
        stored = int((await js.stream_info(subjects.CALL_EVENTS_STREAM)).state.messages)
    seconds = final_at - first_at
    rate = final / seconds
    # Where the time went: the dialer storing calls, then stats catching up after it.
    last = await js.get_msg(subjects.CALL_EVENTS_STREAM, seq=stored)
    assert last.time is not None
    dialer_rate = stored / max(1e-9, min(final_at, last.time.timestamp()) - first_at)
    if final < size.calls:
        await _stop_the_rest(stack, nc, key, ids)

    sample = await js.get_msg(subjects.CALL_EVENTS_STREAM, seq=1)
    payload = sample.data or b""
    raw_figures = await raw.publish_and_consume(
        stack.nats_url, final, payload, campaigns=size.campaigns
    )
    baseline = raw_figures["rate"]
    label = f", first {TIME_BOX_SECONDS:.0f} s" if box else ""
    return Result(
        name="pipeline",
        what=f"call events/s dialer→stats, {size.campaigns}×{size.numbers:,}{label}, PG",
        figure=rate,
        unit="/s",
        baseline=baseline,
        ratio=ratio(rate, baseline),
        goal=GOAL,
        met=rate >= GOAL_RATE and rate >= GOAL_RATIO * baseline,
        note=f"(dialer alone {dialer_rate:,.0f}/s; last 30 s {steady_rate(samples):,.0f}/s)",
        details={
            "calls_planned": size.calls,
            "calls_final": final,
            "calls_stored_by_dialer": stored,
            "seconds": seconds,
            "time_boxed": box is not None,
            "dialer_rate": dialer_rate,
            "steady_rate_last_30s": steady_rate(samples),
            "payload_bytes": len(payload),
            "raw": raw_figures,
            "setup_seconds": setup_seconds,
            "account_id": account_id,
            **profile,
        },
    )


async def _first_call_at(nc: Client, timeout: float = 300) -> float:
    """Epoch seconds at which the first call event was stored."""
    js = nc.jetstream()
    deadline = time.monotonic() + timeout
    while True:
        if (await js.stream_info(subjects.CALL_EVENTS_STREAM)).state.messages:
            first = await js.get_msg(subjects.CALL_EVENTS_STREAM, seq=1)
            assert first.time is not None
            return first.time.timestamp()
        if time.monotonic() > deadline:
            raise TimeoutError("the dialer stored no call event")
        await asyncio.sleep(0.1)


async def _stop_the_rest(stack: Stack, nc: Client, key: str, ids: list[int]) -> None:
    """Stop every campaign of the row and wait for the dialer and stats to go quiet, so
    that the rows after this one run on an idle stack."""
    headers = {"Authorization": f"Bearer {key}"}
    limit = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=stack.base_url, headers=headers, timeout=60) as http:

        async def stop(campaign_id: int) -> None:
            async with limit:
                response = await http.post(f"/api/v1/campaigns/{campaign_id}/stop")
            if response.status_code not in (200, 409):
                raise RuntimeError(f"stop {campaign_id}: {response.status_code} {response.text}")

        await asyncio.gather(*(stop(campaign_id) for campaign_id in ids))
    await _quiet(nc, stack)


async def _quiet(nc: Client, stack: Stack, still_for: float = 5.0, timeout: float = 900) -> None:
    """Until the dialer has taken in every campaign event (the stops), no call event was
    stored for `still_for` seconds, and stats has applied everything."""
    js = nc.jetstream()
    deadline = time.monotonic() + timeout
    previous, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        stored = int((await js.stream_info(subjects.CALL_EVENTS_STREAM)).state.messages)
        if stored != previous:
            previous, since = stored, time.monotonic()
            continue
        info = await js.consumer_info(
            subjects.CAMPAIGN_EVENTS_STREAM, subjects.DIALER_CAMPAIGN_CONSUMER
        )
        pending = info.num_pending + info.num_ack_pending + await stats_behind(nc, stack)
        if pending == 0 and time.monotonic() - since >= still_for:
            return
    raise TimeoutError("the stack did not go quiet after the pipeline's campaigns were stopped")


async def _wait_final(
    nc: Client, account_id: str, calls: int, box: float | None, samples: list[tuple[float, int]]
) -> tuple[int, float]:
    """(numbers final, epoch seconds of that list answer): once all are final, or at the
    end of the time box. Every answer is kept in `samples` as (time, numbers final)."""
    deadline = time.monotonic() + 3600
    while True:
        rows = await list_campaigns(nc, account_id)
        seen = time.time()
        done = sum(final_count(r) for r in rows if r.parent_id is None)
        samples.append((seen, done))
        if done >= calls or (box is not None and seen >= box):
            return done, seen
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {done} of {calls} numbers final")
        # Not more often: each answer builds 100 rows on the PostgreSQL server the dialer
        # shares, and polling at 10 Hz measurably slowed the dialer on two cores.
        await asyncio.sleep(POLL_SECONDS)


def steady_rate(samples: list[tuple[float, int]], window: float = STEADY_WINDOW_SECONDS) -> float:
    """Numbers made final per second over the last `window` seconds of the samples: the
    rate once every campaign is prepared, where the whole-span figure also carries the
    dialer loading 100 bases and synthesizing 100 messages."""
    if len(samples) < 2:
        return 0.0
    end_at, end_done = samples[-1]
    start_at, start_done = next((t, d) for t, d in samples if t >= end_at - window)
    return (end_done - start_done) / (end_at - start_at) if end_at > start_at else 0.0
