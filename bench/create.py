"""create: HTTP campaign creates/s (10 numbers each) against the running gateway on
PostgreSQL, with p50/p99 latency, at 8 concurrent clients (the issue's goal) and at 32;
baseline: raw `eventsourcing` creates on a fresh database of the same PostgreSQL server, with
the campaign service's recorder settings, as many at a time (bench/raw_eventsourcing.py),
measured first, while the stack is idle.
The row's figure, ratio and goal are those at 8; the note and the JSON carry both."""

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

CONCURRENCY = 8  # the goal: p99 < 100 ms at 8 concurrent clients
ALSO_AT = 32  # the row's concurrency before issue 17, still reported
GOAL_RATIO = 0.5
GOAL_P99_MS = 100.0
GOAL = "≥ 0.5× raw, p99 < 100 ms at 8 clients"


async def _creates(
    client: httpx.AsyncClient, bodies: list[dict[str, Any]], concurrency: int
) -> dict[str, Any]:
    """Every body POSTed, `concurrency` at a time: creates/s, p50/p99 and the errors."""
    latencies: list[float] = []
    errors: list[str] = []
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for body in bodies:
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

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    return {
        "concurrency": concurrency,
        "creates": len(bodies),
        "rate": len(latencies) / seconds,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "errors": len(errors),
        "first_errors": errors[:3],
    }


async def run(stack: Stack, quick: bool) -> Result:
    count = 400 if quick else 1_000
    _, key = new_account(stack, "bench create")
    # Scheduled far ahead: the row measures the create path, not the dialling after it.
    body = {"audio": TTS, "start_at": FAR_FUTURE}
    bodies = [
        {**body, "name": f"create {i}", "phones": phones(i % 1000, 10)}
        for i in range(2 * count + ALSO_AT)
    ]
    profile: dict[str, object] = {}
    # First, while the stack is idle: after the HTTP phases the dialer still prepares the
    # new campaigns for a while, and the baseline would share the cores with that tail.
    # A fresh database of its own, the campaign service's recorder settings and pool, as
    # many at a time as the HTTP phase it is set against.
    raws = {
        n: await asyncio.to_thread(raw_eventsourcing.fresh_creates, count, n)
        for n in (CONCURRENCY, ALSO_AT)
    }
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=ALSO_AT, max_keepalive_connections=ALSO_AT)
    phases: dict[int, dict[str, Any]] = {}
    async with httpx.AsyncClient(
        base_url=stack.base_url, headers=headers, timeout=60, limits=limits
    ) as client:
        # warm-up: connections, caches, pools
        await _creates(client, bodies[:ALSO_AT], ALSO_AT)
        pids: dict[str, int] = {
            s: stack.processes[s].pid
            for s in ("gateway", "campaign", "stats", "moderation", "dialer")
            if s in stack.processes
        }
        with profiling.sampled("create", pids, profile):
            phases[CONCURRENCY] = await _creates(
                client, bodies[ALSO_AT : ALSO_AT + count], CONCURRENCY
            )
        phases[ALSO_AT] = await _creates(client, bodies[ALSO_AT + count :], ALSO_AT)
    for n, phase in phases.items():
        phase["raw_rate"] = raws[n]["rate"]
        phase["raw_p50_ms"] = raws[n]["p50_ms"]
        phase["raw_p99_ms"] = raws[n]["p99_ms"]
        phase["ratio"] = ratio(phase["rate"], raws[n]["rate"])
    main, other = phases[CONCURRENCY], phases[ALSO_AT]
    errors = main["errors"] + other["errors"]
    return Result(
        name="create",
        what=f"HTTP creates/s, 10 numbers, {CONCURRENCY} clients (and {ALSO_AT}), PG",
        figure=main["rate"],
        unit="/s",
        baseline=raws[CONCURRENCY]["rate"],
        ratio=main["ratio"],
        goal=GOAL,
        met=(
            not errors
            and main["rate"] >= GOAL_RATIO * raws[CONCURRENCY]["rate"]
            and main["p99_ms"] < GOAL_P99_MS
        ),
        note=(
            f"(p50 {main['p50_ms']:.0f} ms, p99 {main['p99_ms']:.0f} ms; at {ALSO_AT}: "
            f"{other['rate']:.1f}/s vs raw {other['raw_rate']:.0f}/s = "
            f"{other['ratio'] or 0:.2f}×, p99 {other['p99_ms']:.0f} ms)"
        ),
        details={
            "creates": count,
            "p50_ms": main["p50_ms"],
            "p99_ms": main["p99_ms"],
            "errors": errors,
            "first_errors": main["first_errors"] + other["first_errors"],
            "raw_p50_ms": raws[CONCURRENCY]["p50_ms"],
            "raw_p99_ms": raws[CONCURRENCY]["p99_ms"],
            "by_concurrency": {str(n): phase for n, phase in phases.items()},
            **profile,
        },
    )
