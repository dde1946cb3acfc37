"""rebuild: events/s of `zvonar-stats rebuild` (a separate process, as an operator runs it)
over both streams as the pipeline left them, topped up with more calls to reach the size;
baseline: a raw nats-py pull-consume of the same streams."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import subprocess
import sys
import time

from nats.aio.client import Client

from bench import raw
from bench.common import RESULTS_DIR, Result, ratio
from tests.stack import Stack
from zvonar_contracts import subjects
from zvonar_contracts.call_events import CallCompleted, call_id_of
from zvonar_contracts.codec import decode_call_event, encode

GOAL_RATIO = 0.6
GOAL = "≥ 0.6× raw"
_RATE = re.compile(r"(\d+) events in ([\d.]+) s")


async def run(stack: Stack, nc: Client, quick: bool) -> Result:
    wanted = 100_000 if quick else 1_000_000
    await _top_up(nc, wanted)
    await _stats_caught_up(nc)
    _, baseline = await raw.pull_consume(
        stack.nats_url, (subjects.CAMPAIGN_EVENTS_STREAM, subjects.CALL_EVENTS_STREAM)
    )
    command = [sys.executable, "-m", "zvonar_stats", "rebuild"]
    profile = os.environ.get("BENCH_PROFILE") == "1"
    if profile:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        out = RESULTS_DIR / "rebuild-profile.txt"
        command[1:2] = ["-m", "pyinstrument", "--renderer", "text", "-o", str(out), "-m"]
    started = time.perf_counter()
    done = await asyncio.to_thread(
        subprocess.run, command, env=stack.env("stats"), capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"rebuild exited {done.returncode}: {done.stderr[-2000:]}")
    match = _RATE.search(done.stdout.replace(",", ""))
    if match is None:
        raise RuntimeError(f"rebuild printed no rate: {done.stdout[-500:]}")
    events, seconds = int(match.group(1)), float(match.group(2))
    rate = events / seconds
    return Result(
        name="rebuild",
        what=f"zvonar-stats rebuild, {events:,} events, PG",
        figure=rate,
        unit="/s",
        baseline=baseline,
        ratio=ratio(rate, baseline),
        goal=GOAL,
        met=rate >= GOAL_RATIO * baseline,
        details={"events": events, "seconds": seconds, "process_wall_seconds": wall},
    )


async def _top_up(nc: Client, wanted: int) -> None:
    """Publish retries of real calls (attempt 2, 3, …: new call ids, same campaigns and
    phones) until both streams hold `wanted` events. The full run rarely needs any."""
    js = nc.jetstream()
    have = sum(
        [(await js.stream_info(s)).state.messages
         for s in (subjects.CAMPAIGN_EVENTS_STREAM, subjects.CALL_EVENTS_STREAM)]
    )  # fmt: skip
    missing = wanted - have
    if missing <= 0:
        return
    calls = int((await js.stream_info(subjects.CALL_EVENTS_STREAM)).state.last_seq)
    originals = []
    for seq in range(1, min(calls, 2000) + 1):
        stored = await js.get_msg(subjects.CALL_EVENTS_STREAM, seq=seq)
        event = decode_call_event(stored.data or b"")
        if isinstance(event, CallCompleted):
            originals.append(event)
    now = dt.datetime.now(dt.UTC)
    sent = 0
    attempt = 2
    while sent < missing:
        batch = []
        for original in originals[: missing - sent]:
            call_id = call_id_of(original.campaign_id, original.part, original.phone, attempt)
            event = CallCompleted(
                campaign_id=original.campaign_id, account_id=original.account_id, at=now,
                call_id=call_id, phone=original.phone, part=original.part, attempt=attempt,
                started_at=now, outcome=original.outcome, duration_s=original.duration_s,
                billed_s=original.billed_s, cost=original.cost, final=True,
            )  # fmt: skip
            subject = subjects.call_event_subject(original.campaign_id, "CallCompleted")
            batch.append(js.publish(subject, encode(event), headers={"Nats-Msg-Id": call_id}))
            if len(batch) >= 256:
                await asyncio.gather(*batch)
                batch = []
        await asyncio.gather(*batch)
        sent += min(len(originals), missing - sent)
        attempt += 1


async def _stats_caught_up(nc: Client, timeout: float = 600) -> None:
    """Wait for the running stats service to have applied everything, so that the rebuild
    does not share the CPU with it."""
    js = nc.jetstream()
    deadline = time.monotonic() + timeout
    for stream, durable in (
        (subjects.CAMPAIGN_EVENTS_STREAM, subjects.STATS_CAMPAIGN_CONSUMER),
        (subjects.CALL_EVENTS_STREAM, subjects.STATS_CALL_CONSUMER),
    ):
        while True:
            info = await js.consumer_info(stream, durable)
            if info.num_pending == 0 and info.num_ack_pending == 0:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{durable} still has {info.num_pending} pending")
            await asyncio.sleep(0.2)
