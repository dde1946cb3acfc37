"""lag: p99 delay from a call event's publish to its effect in the list query, while the
pipeline runs at about half the rate the pipeline row measured.

Every CallCompleted is timed as it reaches a plain core-NATS subscriber (the moment it is
published); the list query is polled for the running campaigns every 50 ms. The k-th final
call of a campaign has taken effect at the first answer showing k numbers final."""

from __future__ import annotations

import asyncio
import bisect
import time
from collections import defaultdict

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg

from bench import profiling
from bench.campaigns import campaign_body, create_campaigns, final_count, list_campaigns
from bench.common import Result, percentile
from bench.stackrun import TIME_SCALE, new_account
from tests.stack import Stack

GOAL_MS = 200.0
GOAL = "p99 < 200 ms"
POLL_SECONDS = 0.05
RUN_SECONDS = 20.0


class _Call(msgspec.Struct):
    campaign_id: int
    final: bool = True
    part: int = 0


async def run(stack: Stack, nc: Client, quick: bool, pipeline: Result | None) -> Result:
    # Half of what the pipeline row just measured (a guess of 800/s when it did not run).
    max_rate = pipeline.figure if pipeline is not None and pipeline.figure else 800.0
    campaigns = 4 if quick else 10
    target = max_rate / 2
    per_campaign = max(1.0, target / campaigns)
    # speed is calls per hour of the dialer's clock; the clock runs TIME_SCALE× the wall.
    speed = max(1, min(100_000, round(per_campaign * 3600 / TIME_SCALE)))
    numbers = max(100, round(per_campaign * (RUN_SECONDS / 2 if quick else RUN_SECONDS)))
    account_id, key = new_account(stack, "bench lag")

    published: dict[int, list[float]] = defaultdict(list)
    decoder = msgspec.json.Decoder(_Call)

    async def on_call(msg: Msg) -> None:
        call = decoder.decode(msg.data)
        if call.final and call.part == 0:
            published[call.campaign_id].append(time.time())

    sub = await nc.subscribe("call.events.*.CallCompleted", cb=on_call)
    bodies = [campaign_body(700 + i, numbers, speed=speed) for i in range(campaigns)]
    ids = await create_campaigns(stack.base_url, key, bodies)
    profile: dict[str, object] = {}
    query_ms: list[float] = []
    pids = {s: stack.processes[s].pid for s in ("dialer", "stats")}
    with profiling.sampled("lag", pids, profile):
        polls = await _poll_until_final(nc, account_id, ids, numbers, query_ms)
    await sub.unsubscribe()

    delays = _delays(published, polls)
    seconds = _span(published)
    calls = sum(len(v) for v in published.values())
    p99 = percentile(delays, 99)
    return Result(
        name="lag",
        what=f"publish→list query p99, {campaigns} campaigns at ~50 % of max",
        figure=p99,
        unit="ms",
        goal=GOAL,
        met=p99 < GOAL_MS,
        details={
            "p50_ms": percentile(delays, 50),
            "p90_ms": percentile(delays, 90),
            "max_ms": max(delays, default=float("nan")),
            "calls": calls,
            "measured_rate": calls / seconds if seconds else None,
            "target_rate": target,
            "speed_per_campaign": speed,
            "poll_interval_ms": POLL_SECONDS * 1000,
            "list_query_p50_ms": percentile(query_ms, 50),
            "list_query_p99_ms": percentile(query_ms, 99),
            **profile,
        },
    )


async def _poll_until_final(
    nc: Client, account_id: str, ids: list[int], numbers: int, query_ms: list[float]
) -> dict[int, list[tuple[float, int]]]:
    """Per campaign, (answer time, numbers final) of every poll of the list query."""
    polls: dict[int, list[tuple[float, int]]] = defaultdict(list)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        asked = time.time()
        rows = await list_campaigns(nc, account_id, ids=ids)
        seen = time.time()
        query_ms.append((seen - asked) * 1000)
        for row in rows:
            polls[row.id].append((seen, final_count(row)))
        if len(rows) == len(ids) and all(final_count(r) >= numbers for r in rows):
            return polls
        await asyncio.sleep(POLL_SECONDS)
    raise TimeoutError("lag campaigns did not finish in 600 s")


def _delays(
    published: dict[int, list[float]], polls: dict[int, list[tuple[float, int]]]
) -> list[float]:
    delays: list[float] = []
    for campaign_id, times in published.items():
        answers = polls.get(campaign_id, [])
        counts = [count for _, count in answers]
        for k, at in enumerate(sorted(times), start=1):
            # counts only grow, so the first answer with ≥ k is found by bisection.
            index = bisect.bisect_left(counts, k)
            if index < len(answers):
                delays.append(max(0.0, answers[index][0] - at) * 1000)
    return delays


def _span(published: dict[int, list[float]]) -> float:
    every = [t for times in published.values() for t in times]
    return max(every) - min(every) if every else 0.0
