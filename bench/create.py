"""create: HTTP campaign creates/s (10 numbers each) at concurrency 32 against the running
gateway on PostgreSQL, with p50/p99 latency; baseline: raw `eventsourcing` creates on a
fresh database of the same PostgreSQL server, with the campaign service's recorder settings,
also 32 at a time (bench/raw_eventsourcing.py)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from bench import profiling, raw_eventsourcing
from bench.campaigns import FAR_FUTURE, TTS, phones
from bench.common import Result, percentile, ratio
from bench.stackrun import new_account
from tests.stack import Stack

CONCURRENCY = 32
GOAL_RATIO = 0.5
GOAL_P99_MS = 100.0
GOAL = "≥ 0.5× raw, p99 < 100 ms"


async def run(stack: Stack, quick: bool) -> Result:
    count = 400 if quick else 1_000
    _, key = new_account(stack, "bench create")
    # Scheduled far ahead: the row measures the create path, not the dialling after it.
    body = {"audio": TTS, "start_at": FAR_FUTURE}
    bodies = [
        {**body, "name": f"create {i}", "phones": phones(i % 1000, 10)}
        for i in range(count + CONCURRENCY)
    ]
    latencies: list[float] = []
    errors: list[str] = []
    profile: dict[str, object] = {}
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(
        base_url=stack.base_url, headers=headers, timeout=60, limits=limits
    ) as client:
        for body in bodies[:CONCURRENCY]:  # warm-up: connections, caches, pools
            await client.post("/api/v1/campaigns", json=body)
        for body in bodies[CONCURRENCY:]:
            queue.put_nowait(body)

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                started = time.perf_counter()
                try:
                    response = await client.post("/api/v1/campaigns", json=body)
                except httpx.TransportError as exc:  # counted as a failed create, not fatal
                    errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 201:
                    errors.append(f"{response.status_code} {response.text[:200]}")

        pids = {s: stack.processes[s].pid for s in ("gateway", "campaign", "stats")}
        started = time.perf_counter()
        with profiling.sampled("create", pids, profile):
            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        seconds = time.perf_counter() - started
    rate = len(latencies) / seconds
    # On a fresh database of its own, with the campaign service's recorder settings and pool.
    baseline = await asyncio.to_thread(raw_eventsourcing.fresh_creates, count, CONCURRENCY)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    return Result(
        name="create",
        what=f"HTTP creates/s, 10 numbers, concurrency {CONCURRENCY}, PG",
        figure=rate,
        unit="/s",
        baseline=baseline["rate"],
        ratio=ratio(rate, baseline["rate"]),
        goal=GOAL,
        met=not errors and rate >= GOAL_RATIO * baseline["rate"] and p99 < GOAL_P99_MS,
        note=f"(p50 {p50:.0f} ms, p99 {p99:.0f} ms)",
        details={
            "creates": count,
            "p50_ms": p50,
            "p99_ms": p99,
            "errors": len(errors),
            "first_errors": errors[:3],
            "raw_p50_ms": baseline["p50_ms"],
            "raw_p99_ms": baseline["p99_ms"],
            **profile,
        },
    )
