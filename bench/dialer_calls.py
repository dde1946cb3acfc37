"""Bench: simulated calls per second the dialer sustains at unlimited speed (its clock runs
so fast that pacing never waits), next to the raw JetStream publish rate measured in the
same run on the same server, and their ratio.

`uv run python -m bench.dialer_calls [--calls N] [--postgres]` — prints one line and writes
bench/results/dialer_calls.json. Not part of the pytest suite.

What is timed: from the campaign's StartCampaign to the last CallCompleted stored in the
CALL_EVENTS stream — claiming, the simulated carrier's durable record, cost, the outbox
transaction and its publication, for every call.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from zvonar_contracts import campaign_events as ev
from zvonar_contracts import commands as cmd
from zvonar_contracts.codec import decode_command, encode, type_name
from zvonar_contracts.options import CampaignOptions, PhoneBaseRef, Status, TtsAudio
from zvonar_contracts.subjects import (
    CALL_EVENTS_STREAM,
    MSG_ID_HEADER,
    PHONE_BASES_BUCKET,
    POSITION_HEADER,
    campaign_event_subject,
)
from zvonar_devtools.natsserver import NatsServer
from zvonar_dialer.bootstrap import run_in_process
from zvonar_dialer.settings import DialerSettings
from zvonar_runtime.jetstream import ensure_jetstream, stream_config
from zvonar_runtime.logging import configure_logging

RESULTS = Path(__file__).resolve().parent / "results"
PG_ADMIN_URL = os.environ.get("ZVONAR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PUBLISH_WINDOW = 500  # the outbox publisher's batch: the same concurrency for the baseline


async def raw_publish_rate(js: JetStreamContext, count: int, payload: bytes) -> float:
    """Messages/s of acknowledged JetStream publishes with a Nats-Msg-Id, no service involved."""
    name = f"BENCH_DIALER_{uuid.uuid4().hex[:8].upper()}"
    await js.add_stream(stream_config(name, (f"bench.{name}.>",)))
    try:
        started = time.perf_counter()
        for first in range(0, count, PUBLISH_WINDOW):
            await asyncio.gather(
                *(
                    js.publish(f"bench.{name}.{i % 100}", payload, headers={MSG_ID_HEADER: f"m{i}"})
                    for i in range(first, min(count, first + PUBLISH_WINDOW))
                )
            )
        return count / (time.perf_counter() - started)
    finally:
        await js.delete_stream(name)


class CampaignStandIn:
    """Answers the dialer's commands as the campaign service would (no events but the
    campaign's creation) and notes when dialling began."""

    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self.position = 0
        self.started_at: float | None = None
        self.finished_at: float | None = None

    async def start(self) -> None:
        await self.nc.subscribe("campaign.cmd.>", queue="campaign", cb=self.answer)

    async def answer(self, msg: Msg) -> None:
        command = decode_command(msg.data)
        if isinstance(command, cmd.StartCampaign) and self.started_at is None:
            self.started_at = time.perf_counter()
        if isinstance(command, cmd.FinishCampaign):
            self.finished_at = time.perf_counter()
        self.position += 1
        await msg.respond(encode(cmd.CommandOk(position=self.position)))

    async def create(self, phones: list[str]) -> int:
        js = self.nc.jetstream()
        campaign_id = 900_000_000 + int(time.time()) % 1_000_000
        base = "".join(f"{p}\n" for p in phones).encode()
        digest = hashlib.sha256(base).hexdigest()
        await (await js.object_store(PHONE_BASES_BUCKET)).put(digest, base)
        ref = PhoneBaseRef(bucket=PHONE_BASES_BUCKET, name=digest, count=len(phones), sha256=digest)
        options = CampaignOptions(name="bench", audio=TtsAudio(text="Здравствуйте"), speed=100_000)
        now = dt.datetime.now(dt.UTC)
        common: dict[str, Any] = {"campaign_id": campaign_id, "account_id": "acc_bench", "at": now}
        for event in (
            ev.CampaignCreated(**common, options=options, phones=ref, account_tz="UTC"),
            ev.CampaignModerated(
                **common, decision="accepted", decided_by="rules", status=Status.ACCEPTED
            ),
        ):
            self.position += 1
            await js.publish(
                campaign_event_subject(campaign_id, type_name(event)),
                encode(event),
                headers={
                    MSG_ID_HEADER: f"bench-{uuid.uuid4().hex}",
                    POSITION_HEADER: str(self.position),
                },
            )
        return campaign_id


async def stored_calls(js: JetStreamContext, campaign_id: int) -> int:
    info = await js.stream_info(CALL_EVENTS_STREAM, subjects_filter=f"call.events.{campaign_id}.>")
    return sum((info.state.subjects or {}).values())


async def dialer_rate(nats_url: str, database_url: str | None, calls: int) -> dict[str, Any]:
    nc = await nats.connect(nats_url, name="bench-dialer")
    js = nc.jetstream()
    await ensure_jetstream(js)
    stand_in = CampaignStandIn(nc)
    await stand_in.start()
    with tempfile.TemporaryDirectory() as data_dir:
        settings = DialerSettings(
            nats_url=nats_url,
            database_url=database_url,
            data_dir=Path(data_dir),
            time_scale=1e9,
            tick_seconds=0.001,
            max_burst=2000,
            call_concurrency=256,
            log_level="warning",
        )
        async with run_in_process(settings):
            campaign_id = await stand_in.create([f"+7917{n:07d}" for n in range(calls)])
            while True:
                if await stored_calls(js, campaign_id) >= calls:
                    break
                await asyncio.sleep(0.05)
            done = time.perf_counter()
    await nc.close()
    assert stand_in.started_at is not None
    seconds = done - stand_in.started_at
    return {"calls": calls, "seconds": round(seconds, 3), "calls_per_s": calls / seconds}


@contextlib.contextmanager
def nats_url() -> Iterator[str]:
    if os.environ.get("NATS_URL"):
        yield os.environ["NATS_URL"]
        return
    with tempfile.TemporaryDirectory() as store, NatsServer(Path(store)) as server:
        yield server.url


@contextlib.asynccontextmanager
async def database(postgres: bool) -> AsyncIterator[str | None]:
    if not postgres:
        yield None
        return
    import psycopg

    name = f"zvonar_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def run(calls: int, postgres: bool) -> dict[str, Any]:
    configure_logging("bench", "warning", "console")
    with nats_url() as url:
        nc = await nats.connect(url, name="bench-raw")
        sample = b"x" * 420  # about the size of an encoded CallCompleted
        raw = await raw_publish_rate(nc.jetstream(), calls, sample)
        await nc.close()
        async with database(postgres) as database_url:
            measured = await dialer_rate(url, database_url, calls)
    return {
        "name": "dialer_calls",
        "what": "simulated calls/s at unlimited speed (start to last CallCompleted stored)",
        "backend": "postgres" if postgres else "sqlite",
        **measured,
        "raw_publish_per_s": raw,
        "ratio": measured["calls_per_s"] / raw,
        "nproc": os.cpu_count(),
        "at": time.time(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true", help="store on PostgreSQL")
    args = parser.parse_args()
    result = asyncio.run(run(args.calls, args.postgres))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "dialer_calls.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"dialer ({result['backend']}): {result['calls_per_s']:,.0f} calls/s "
        f"({result['calls']} calls in {result['seconds']} s) | raw JetStream publish: "
        f"{result['raw_publish_per_s']:,.0f} msg/s | ratio {result['ratio']:.3f} -> {path}"
    )


if __name__ == "__main__":
    main()
