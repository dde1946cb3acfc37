"""rebuild: events/s of `zvonar-stats rebuild` (a separate process, as an operator runs it)
over both streams as the pipeline left them, topped up with more calls to reach the size;
baseline: reading the same streams with the rebuild's own reader (`read_stream`, its
batch size) and applying nothing, so the ratio is the rebuild's own work."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import sys
import time
from asyncio.subprocess import PIPE

import msgspec
from nats.aio.client import Client

from bench import profiling, raw
from bench.campaigns import campaign_body, create_campaigns
from bench.common import Result, ratio
from bench.pipeline import _quiet
from bench.stackrun import new_account, stats_behind
from tests.stack import Stack
from zvonar_contracts import subjects
from zvonar_contracts.call_events import CallCompleted, call_id_of
from zvonar_contracts.codec import decode_call_event, encode

GOAL_RATIO = 0.6
GOAL = "≥ 0.6× raw"
_RATE = re.compile(r"(\d+) events in ([\d.]+) s")


async def run(stack: Stack, nc: Client, quick: bool) -> Result:
    wanted = 100_000 if quick else 1_000_000
    # The live service would only compete for the two cores while it replays the top-up.
    if not (await nc.jetstream().stream_info(subjects.CALL_EVENTS_STREAM)).state.messages:
        await _seed(stack, nc)
    await _stats_caught_up(nc, stack)
    stack.processes["stats"].terminate()
    await asyncio.to_thread(stack.processes["stats"].wait, 60)
    await _top_up(nc, wanted)
    # Like with like: the same streams through the rebuild's own reader, nothing applied.
    _, baseline = await raw.read_streams(
        stack.nats_url, (subjects.CAMPAIGN_EVENTS_STREAM, subjects.CALL_EVENTS_STREAM)
    )
    command = [sys.executable, "-m", "zvonar_stats", "rebuild"]
    profile: dict[str, object] = {}
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *command, env=stack.env("stats"), stdout=PIPE, stderr=PIPE
    )
    with profiling.sampled("rebuild", {"rebuild": process.pid}, profile):
        out, err = await process.communicate()
    stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"rebuild exited {process.returncode}: {stderr[-2000:]}")
    match = _RATE.search(stdout.replace(",", ""))
    if match is None:
        raise RuntimeError(f"rebuild printed no rate: {stdout[-500:]}")
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
        details={
            "baseline_how": "the rebuild's read_stream, batch 5000, nothing applied",
            "events": events,
            "seconds": seconds,
            "process_wall_seconds": wall,
            **profile,
        },
    )


async def _seed(stack: Stack, nc: Client, campaigns: int = 10, numbers: int = 200) -> None:
    """Without the pipeline row before it (`--only rebuild`) there are no calls to copy:
    a few small campaigns rung by the dialer give the top-up real ones."""
    _, key = new_account(stack, "bench rebuild seed")
    await create_campaigns(
        stack.base_url, key, [campaign_body(i, numbers) for i in range(campaigns)]
    )
    js = nc.jetstream()
    deadline = time.monotonic() + 300
    while (await js.stream_info(subjects.CALL_EVENTS_STREAM)).state.messages < campaigns * numbers:
        if time.monotonic() > deadline:
            raise TimeoutError("the dialer did not ring the seed campaigns")
        await asyncio.sleep(0.5)
    await _quiet(nc, stack)


async def _top_up(nc: Client, wanted: int) -> None:
    """Publish more calls of the pipeline's campaigns — each to a number of its own, as a
    bigger run would — until both streams hold `wanted` events. Core publishes with a flush
    every few thousand (this is filling, not measuring), then the stream count is checked."""
    js = nc.jetstream()
    streams = (subjects.CAMPAIGN_EVENTS_STREAM, subjects.CALL_EVENTS_STREAM)
    have = sum([(await js.stream_info(s)).state.messages for s in streams])
    missing = wanted - have
    if missing <= 0:
        return
    calls = int((await js.stream_info(subjects.CALL_EVENTS_STREAM)).state.last_seq)
    originals = []
    for seq in range(1, min(calls, 2000) + 1):
        stored = await js.get_msg(subjects.CALL_EVENTS_STREAM, seq=seq)
        event = decode_call_event(stored.data or b"")
        if isinstance(event, CallCompleted) and event.part == 0:
            originals.append(event)
    if not originals:
        raise RuntimeError("no call events to top the streams up from: run the pipeline row first")
    now = dt.datetime.now(dt.UTC)
    for n in range(missing):
        original = originals[n % len(originals)]
        phone = f"+7917{n:07d}"  # never in a pipeline base (those are +7916…)
        call_id = call_id_of(original.campaign_id, 0, phone, 1)
        event = msgspec.structs.replace(
            original, call_id=call_id, phone=phone, at=now, started_at=now, final=True
        )
        subject = subjects.call_event_subject(original.campaign_id, "CallCompleted")
        await nc.publish(subject, encode(event), headers={"Nats-Msg-Id": call_id})
        if n % 5000 == 4999:
            await nc.flush()
    await nc.flush()
    deadline = time.monotonic() + 120
    while sum([(await js.stream_info(s)).state.messages for s in streams]) < wanted:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the top-up did not reach {wanted} stored events")
        await asyncio.sleep(0.2)


async def _stats_caught_up(nc: Client, stack: Stack, timeout: float = 600) -> None:
    """Wait for the running stats service to have applied everything, so that the rebuild
    does not share the CPU with it."""
    deadline = time.monotonic() + timeout
    while (behind := await stats_behind(nc, stack)) > 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"stats is still {behind} messages behind")
        await asyncio.sleep(0.2)
