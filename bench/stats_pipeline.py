"""stats_pipeline: projection throughput of call events into the stats read models on
PostgreSQL, next to a raw JetStream pull-consume (explicit acks, same batch size) of the
same messages in the same run; then the rebuild's events/s next to reading both streams
with the rebuild's own reader, nothing applied (bench/raw.py `read_streams`). Finishes
with the consistency check, so the figures are of a correct run.

`uv run python -m bench.stats_pipeline [--quick]` prints the figures and writes
bench/results/stats_pipeline.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from bench import raw
from bench.common import RESULTS_DIR, machine, postgres_database
from zvonar_contracts import subjects
from zvonar_contracts.call_events import CallCompleted, call_id_of
from zvonar_contracts.campaign_events import CampaignCreated
from zvonar_contracts.codec import encode
from zvonar_contracts.options import CampaignOptions, PhoneBaseRef, TtsAudio
from zvonar_devtools.natsserver import NatsServer
from zvonar_runtime.db import Database
from zvonar_runtime.jetstream import ensure_jetstream
from zvonar_stats.adapters.checkpoints import read_checkpoint
from zvonar_stats.adapters.schema import CALL_STREAM_KEY, active_tables
from zvonar_stats.adapters.store import SqlStore
from zvonar_stats.adapters.streams import STREAM_FILTERS, consume
from zvonar_stats.entrypoints.check import find_differences
from zvonar_stats.entrypoints.rebuild import rebuild
from zvonar_stats.service_layer.projection import Projector

BATCH = 500
GOAL_PROJECTION = 0.45
GOAL_REBUILD = 0.6
T0 = dt.datetime(2026, 6, 17, 9, 0, tzinfo=dt.UTC)
OUTCOMES = ("answered", "no_answer", "busy", "answered", "machine", "stop_listed")


def _events(calls: int, campaigns: int) -> tuple[list[CampaignCreated], list[CallCompleted]]:
    """`campaigns` campaigns; every number gets one or two attempts (a retry after a
    no-answer), so the projection meets new numbers and numbers it already holds."""
    per_campaign = calls // campaigns
    created: list[CampaignCreated] = []
    made: list[CallCompleted] = []
    for c in range(campaigns):
        cid = 1_000_001 + c
        created.append(
            CampaignCreated(
                campaign_id=cid,
                account_id="acc_bench",
                at=T0,
                account_tz="Europe/Moscow",
                options=CampaignOptions(name=f"Рассылка {c}", audio=TtsAudio(text="Привет")),
                phones=PhoneBaseRef(bucket="phone-bases", name="b", count=per_campaign, sha256="b"),
            )
        )
        phone = 0
        count = 0
        while count < per_campaign:
            number = f"+7916{phone:07d}"
            retry = phone % 4 == 0 and count + 1 < per_campaign
            for attempt in (1, 2) if retry else (1,):
                outcome = "no_answer" if retry and attempt == 1 else OUTCOMES[phone % 6]
                made.append(
                    CallCompleted(
                        campaign_id=cid,
                        account_id="acc_bench",
                        at=T0,
                        call_id=call_id_of(cid, 0, number, attempt),
                        phone=number,
                        part=0,
                        attempt=attempt,
                        started_at=T0,
                        outcome=outcome,  # type: ignore[arg-type]
                        duration_s=12.5,
                        billed_s=60,
                        cost=Decimal("1.20") if outcome == "answered" else Decimal("0.00"),
                        lead=outcome == "answered" and phone % 3 == 0,
                        final=not (retry and attempt == 1),
                        recording=f"{cid}/{number}.wav",
                    )
                )
                count += 1
            phone += 1
    return created, made


async def _publish(js: JetStreamContext, created: list[Any], calls: list[Any]) -> None:
    pending = []
    for position, event in enumerate(created, start=1):
        headers = {
            subjects.MSG_ID_HEADER: f"cl-{position}",
            subjects.POSITION_HEADER: str(position),
        }
        subject = subjects.campaign_event_subject(event.campaign_id, "CampaignCreated")
        pending.append(await js.publish_async(subject, encode(event), headers=headers))
    for call in calls:
        subject = subjects.call_event_subject(call.campaign_id, "CallCompleted")
        headers = {subjects.MSG_ID_HEADER: call.call_id}
        pending.append(await js.publish_async(subject, encode(call), headers=headers))
        if len(pending) >= raw.PUBLISH_WINDOW:
            await asyncio.gather(*pending)
            pending = []
    await asyncio.gather(*pending)


async def _raw_consume(js: JetStreamContext, count: int) -> float:
    """Messages/s of a durable pull consumer with explicit acks, nothing else done."""
    durable = "bench-raw-calls"
    config = ConsumerConfig(
        durable_name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        max_ack_pending=BATCH,
    )
    stream = subjects.CALL_EVENTS_STREAM
    sub = await js.pull_subscribe(
        STREAM_FILTERS[stream], durable=durable, stream=stream, config=config
    )
    started = time.perf_counter()
    done = 0
    while done < count:
        try:
            msgs = await sub.fetch(BATCH, timeout=1.0)
        except TimeoutError:
            continue
        for msg in msgs:
            await msg.ack()
        done += len(msgs)
    return count / (time.perf_counter() - started)


async def _project(nc: NatsClient, db: Database, last_seq: int) -> float:
    projector = Projector(SqlStore(db))
    await projector.open()
    started = time.perf_counter()
    stream = subjects.CALL_EVENTS_STREAM
    task = asyncio.create_task(
        consume(
            nc,
            stream=stream,
            durable="bench-stats-calls",
            position=projector.call_seq,
            apply=projector.apply_call_events,
            batch=BATCH,
        )
    )

    def reached(cur: Any) -> int:
        return read_checkpoint(cur, active_tables(cur), CALL_STREAM_KEY).seq

    while await db.run(reached) < last_seq:
        if task.done():
            await task
        await asyncio.sleep(0.02)
    seconds = time.perf_counter() - started
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    return last_seq / seconds


async def run(quick: bool = False) -> dict[str, Any]:
    calls, campaigns = (20_000, 10) if quick else (200_000, 40)
    created, made = _events(calls, campaigns)
    with tempfile.TemporaryDirectory() as store, NatsServer(Path(store)) as server:
        with postgres_database() as pg_url:
            nc = await nats.connect(server.url, name="bench-stats-pipeline")
            js = nc.jetstream()
            await ensure_jetstream(js)
            db = Database.from_settings(pg_url, Path(store) / "unused", "stats")
            try:
                await _publish(js, created, made)
                info = await js.stream_info(subjects.CALL_EVENTS_STREAM)
                last_seq = int(info.state.last_seq)
                raw_rate = await _raw_consume(js, last_seq)
                projected = await _project(nc, db, last_seq)
                raw_read = (
                    await raw.read_streams(
                        server.url, (subjects.CAMPAIGN_EVENTS_STREAM, subjects.CALL_EVENTS_STREAM)
                    )
                )[1]
                rebuilt = await rebuild(db, js)
                differences = await find_differences(db, js)
            finally:
                await db.aclose()
                await nc.close()
    ratio = projected / raw_rate
    rebuild_ratio = rebuilt.events_per_second / raw_read
    return {
        "what": f"call events → stats read models, {last_seq:,} calls, PG",
        "figure": projected,
        "baseline": raw_rate,
        "ratio": ratio,
        "unit": "/s",
        "goal": f"≥ {GOAL_PROJECTION}× raw; rebuild ≥ {GOAL_REBUILD}× raw read",
        "met": ratio >= GOAL_PROJECTION and rebuild_ratio >= GOAL_REBUILD and not differences,
        "projection_per_s": projected,
        "raw_consume_per_s": raw_rate,
        "rebuild_events": rebuilt.events,
        "rebuild_per_s": rebuilt.events_per_second,
        "raw_read_per_s": raw_read,
        "rebuild_ratio": rebuild_ratio,
        "check_differences": len(differences),
        "batch": BATCH,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stats_pipeline")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    figures = asyncio.run(run(args.quick))
    print(
        f"projection: {figures['projection_per_s']:,.0f} calls/s  "
        f"raw pull-consume: {figures['raw_consume_per_s']:,.0f} msgs/s  "
        f"ratio {figures['ratio']:.2f} (goal ≥ {GOAL_PROJECTION})"
    )
    print(
        f"rebuild: {figures['rebuild_per_s']:,.0f} events/s  "
        f"raw replay read: {figures['raw_read_per_s']:,.0f} msgs/s  "
        f"ratio {figures['rebuild_ratio']:.2f} (goal ≥ {GOAL_REBUILD})"
    )
    print(f"consistency check: {figures['check_differences']} difference(s)")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / "stats_pipeline.json"
    body = {**figures, "quick": args.quick, "machine": machine(), "at": time.time()}
    out.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
