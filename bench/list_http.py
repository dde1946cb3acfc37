"""list: p99 of `GET /api/v1/campaigns` through the gateway — real HTTP requests with
httpx, 8 concurrent clients — over 100,000 campaigns of one account, WHILE the pipeline
runs in the same stack (campaigns of another account dialled at top speed by the dialer,
their call events projected by stats). The eight query shapes of bench/stats_list.py.

Baseline in the same run: the same shapes through the stats service's query handler in
this process, on the same database, before the load starts (the SQL and the views alone:
no NATS, no gateway, no HTTP, no pipeline). Its ratio is figure / baseline: how many times
the answer a customer waits for is slower than the query itself."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from pathlib import Path
from typing import Any

import httpx
from nats.aio.client import Client

from bench import stats_list
from bench.campaigns import campaign_body, create_campaigns
from bench.common import Result, percentile
from bench.pipeline import _stop_the_rest
from bench.stackrun import new_account
from tests.stack import Stack
from zvonar_contracts import subjects
from zvonar_contracts.queries import CampaignPage, ListCampaigns
from zvonar_runtime.db import Cursor, Database
from zvonar_stats.adapters.store import SqlStore
from zvonar_stats.service_layer.projection import Projector
from zvonar_stats.service_layer.queries import QueryService

CAMPAIGNS = 100_000
CLIENTS = 8
GOAL_P99_MS = 30.0
GOAL = f"p99 < {GOAL_P99_MS:.0f} ms through HTTP, pipeline running"
# The load: campaigns of another account, more calls than the measurement lasts.
LOAD_CAMPAIGNS = 20
LOAD_NUMBERS = 10_000
# Campaign indexes (hence phone numbers) of their own, apart from the pipeline row's.
LOAD_FIRST_INDEX = 500
BASELINE_ROUNDS = 30
# Ids of the filled rows: far above what the campaign service issues (from 1,000,001).
FIRST_ID = 900_000_001


async def run(stack: Stack, nc: Client, quick: bool) -> Result:
    requests_per_shape = 100 if quick else 400
    assert stack.database_url, "the bench stack runs on PostgreSQL"
    account_id, key = new_account(stack, "bench list")
    fill_started = time.perf_counter()
    shapes = stats_list._queries(CAMPAIGNS, account_id, FIRST_ID)
    expected, baseline_ms = await _fill_and_baseline(stack.database_url, account_id, shapes)
    fill_seconds = time.perf_counter() - fill_started

    _, load_key = new_account(stack, "bench list load")
    bodies = [campaign_body(LOAD_FIRST_INDEX + i, LOAD_NUMBERS) for i in range(LOAD_CAMPAIGNS)]
    load_ids = await create_campaigns(stack.base_url, load_key, bodies)
    js = nc.jetstream()

    async def stored() -> int:
        return int((await js.stream_info(subjects.CALL_EVENTS_STREAM)).state.messages)

    before_load = await stored()
    await _until_calls_flow(stored, before_load + 2_000)
    at_start, started = await stored(), time.time()
    load_before = os.getloadavg()[0]
    timings, errors = await _over_http(stack.base_url, key, shapes, expected, requests_per_shape)
    at_end, ended = await stored(), time.time()
    load_after = os.getloadavg()[0]
    load_rate = (at_end - at_start) / (ended - started)
    # The load must not have run out before the last request: the row is "while it runs".
    load_throughout = at_end < before_load + LOAD_CAMPAIGNS * LOAD_NUMBERS
    await _stop_the_rest(stack, nc, load_key, load_ids)

    every = [ms for values in timings.values() for ms in values]
    p50, p99 = percentile(every, 50), percentile(every, 99)
    base_p99 = percentile([ms for v in baseline_ms.values() for ms in v], 99)
    return Result(
        name="list",
        what=f"HTTP list p99, {CAMPAIGNS:,} campaigns, {CLIENTS} clients, pipeline running",
        figure=p99,
        unit="ms",
        baseline=base_p99,
        ratio=p99 / base_p99 if base_p99 > 0 else None,
        goal=GOAL,
        met=not errors and p99 < GOAL_P99_MS and load_throughout,
        note=f"p99 (p50 {p50:.1f} ms; pipeline {load_rate:,.0f} calls/s meanwhile)",
        details={
            "campaigns": CAMPAIGNS,
            "clients": CLIENTS,
            "requests": len(every),
            "errors": len(errors),
            "first_errors": errors[:3],
            "p50_ms": p50,
            "p99_ms": p99,
            "baseline": "stats QueryService in process, same database, before the load",
            "baseline_p99_ms": base_p99,
            "shapes": {
                name: {
                    "http_p50_ms": percentile(v, 50),
                    "http_p99_ms": percentile(v, 99),
                    "in_process_p99_ms": percentile(baseline_ms[name], 99),
                    "rows": expected[name],
                }
                for name, v in timings.items()
            },
            "pipeline_calls_per_s_during": load_rate,
            "pipeline_calls_during": at_end - at_start,
            "pipeline_ran_throughout": load_throughout,
            "load_average": [load_before, load_after],
            "fill_and_baseline_seconds": fill_seconds,
        },
    )


async def _fill_and_baseline(
    database_url: str, account_id: str, shapes: dict[str, ListCampaigns]
) -> tuple[dict[str, int], dict[str, list[float]]]:
    """Put CAMPAIGNS rows of `account_id` into the stack's stats read model (as the stats
    engineer's in-process bench does), then time each shape through the query handler:
    (rows each shape matches, its latencies in ms)."""
    with_store = Path(os.environ.get("TMPDIR", "/tmp")) / "bench-list-unused"
    db = Database.from_settings(database_url, with_store, "stats")
    try:
        projector = Projector(SqlStore(db))
        await projector.open()
        for start in range(0, CAMPAIGNS, 5000):
            stop = min(start + 5000, CAMPAIGNS)

            def fill(cur: Cursor, a: int = start, b: int = stop) -> None:
                stats_list._fill(cur, a, b, account_id, FIRST_ID)

            await db.run(fill)
        await db.run(lambda cur: cur.execute("ANALYZE"))
        service = QueryService(SqlStore(db), projector)
        expected: dict[str, int] = {}
        timings: dict[str, list[float]] = {}
        for name, query in shapes.items():
            for _ in range(BASELINE_ROUNDS):
                started = time.perf_counter()
                reply = await service.handle(query)
                timings.setdefault(name, []).append((time.perf_counter() - started) * 1000)
            if not isinstance(reply, CampaignPage):
                raise RuntimeError(f"list query {name} failed: {reply}")
            expected[name] = reply.total
    finally:
        await db.aclose()
    return expected, timings


def _params(query: ListCampaigns) -> tuple[tuple[str, str], ...]:
    """The HTTP query string the web page would send for `query` (docs/API.md)."""
    params: list[tuple[str, str]] = []
    if query.q is not None:
        params.append(("q", query.q))
    params += [("status", str(s)) for s in query.statuses]
    params += [("tag", str(t)) for t in query.tags]
    for name, value in (("created_from", query.created_from), ("created_to", query.created_to)):
        if value is not None:
            params.append((name, value.astimezone(dt.UTC).isoformat()))
    if query.page != 1:
        params.append(("page", str(query.page)))
    return tuple(params)


async def _over_http(
    base_url: str,
    key: str,
    shapes: dict[str, ListCampaigns],
    expected: dict[str, int],
    per_shape: int,
) -> tuple[dict[str, list[float]], list[str]]:
    """CLIENTS clients, each on a connection of its own, asking the shapes in turn until
    every shape was asked `per_shape` times: latencies (ms) per shape, and the errors —
    a status other than 200 or a total other than the in-process answer's."""
    work = [name for _ in range(per_shape) for name in shapes]
    timings: dict[str, list[float]] = {name: [] for name in shapes}
    errors: list[str] = []
    headers = {"Authorization": f"Bearer {key}"}

    async def client(index: int) -> None:
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as http:
            await http.get("/api/v1/campaigns")  # the connection, once
            for name in work[index::CLIENTS]:
                started = time.perf_counter()
                try:
                    response = await http.get("/api/v1/campaigns", params=_params(shapes[name]))
                except httpx.TransportError as exc:
                    errors.append(f"{name}: {type(exc).__name__}: {exc}")
                    continue
                timings[name].append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    errors.append(f"{name}: {response.status_code} {response.text[:200]}")
                elif (total := response.json().get("total")) != expected[name]:
                    errors.append(f"{name}: total {total}, in process {expected[name]}")

    await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    return timings, errors


async def _until_calls_flow(stored: Any, at_least: int, timeout: float = 600) -> None:
    """Until the load's call events are being stored (the campaigns accepted, dialling)."""
    deadline = time.monotonic() + timeout
    while await stored() < at_least:
        if time.monotonic() > deadline:
            raise TimeoutError("the list row's pipeline load stored no call events")
        await asyncio.sleep(0.2)
