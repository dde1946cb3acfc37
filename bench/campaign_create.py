"""campaign_create: CreateCampaign commands/s over NATS request-reply against the campaign
service process on PostgreSQL (32 in flight), next to the raw `eventsourcing` create rate
measured in the same run on the same server (bench.raw_eventsourcing, 32 threads).

    uv run python -m bench.campaign_create [--quick]

The service runs as its own process (`python -m zvonar_campaign`, relay on), with a
nats-server of its own and a fresh PostgreSQL database; JSON lands in bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nats
from nats.aio.client import Client

from bench import raw_eventsourcing
from bench.common import Result, percentile, postgres_database, ratio, table, write_json
from zvonar_contracts.codec import decode_command_reply, encode
from zvonar_contracts.commands import CommandOk, CreateCampaign, PauseCampaign
from zvonar_contracts.options import CampaignOptions, PhoneBaseRef, TtsAudio
from zvonar_contracts.subjects import campaign_command_subject
from zvonar_devtools.natsserver import NatsServer

CONCURRENCY = 32
GOAL_RATIO = 0.5
GOAL = "≥ 0.5× raw eventsourcing creates/s"


def _create(index: int) -> bytes:
    options = CampaignOptions(name=f"bench {index}", audio=TtsAudio(text="Здравствуйте!"))
    phones = PhoneBaseRef(
        bucket="phone-bases", name=f"{index:064x}", count=10, sha256=f"{index:064x}"
    )
    command = CreateCampaign(
        account_id="acc_bench", account_tz="Europe/Moscow", options=options, phones=phones
    )
    return encode(command)


async def _wait_ready(nc: Client, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    probe = encode(PauseCampaign(account_id="acc_bench", campaign_id=1))
    while True:
        try:
            await nc.request(campaign_command_subject("PauseCampaign"), probe, timeout=0.5)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def _over_nats(nc: Client, count: int) -> dict[str, float]:
    subject = campaign_command_subject("CreateCampaign")
    bodies = [_create(i) for i in range(count)]
    latencies: list[float] = []
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def worker() -> None:
        while not queue.empty():
            body = queue.get_nowait()
            started = time.perf_counter()
            reply = decode_command_reply((await nc.request(subject, body, timeout=30)).data)
            if not isinstance(reply, CommandOk):
                raise RuntimeError(f"create refused: {reply}")
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    seconds = time.perf_counter() - started
    return {
        "rate": count / seconds,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


# The service's and the baseline's eventsourcing pool (and as many overflow connections).
SERVICE_POOL = 8


async def _service_rate(database_url: str, count: int) -> dict[str, float]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        NatsServer(Path(tmp) / "nats", log_file=Path(tmp) / "nats.log") as server,
    ):
        env = {
            **os.environ,
            "NATS_URL": server.url,
            "DATABASE_URL": database_url,
            "ZVONAR_DATA_DIR": tmp,
            "ZVONAR_LOG_LEVEL": "warning",
            "CAMPAIGN_COMMAND_WORKERS": str(CONCURRENCY),
            # The pool bench.raw_eventsourcing gives its baseline.
            "CAMPAIGN_PG_POOL_SIZE": str(SERVICE_POOL),
        }
        service = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "zvonar_campaign", env=env, stdout=subprocess.DEVNULL
        )
        try:
            nc = await nats.connect(server.url, name="bench-campaign-create")
            await _wait_ready(nc)
            await _over_nats(nc, CONCURRENCY * 2)  # warm-up: pools, caches, JIT of the path
            figures = await _over_nats(nc, count)
            await nc.close()
            return figures
        finally:
            service.terminate()
            await asyncio.wait_for(service.wait(), timeout=30)


def run(quick: bool = False) -> Result:
    count = 500 if quick else 3_000
    with postgres_database() as database_url:
        raw = raw_eventsourcing.creates_per_second(
            database_url, count, CONCURRENCY, pool_size=SERVICE_POOL
        )
        ours = asyncio.run(_service_rate(database_url, count))
    share = ratio(ours["rate"], raw["rate"])
    return Result(
        name="campaign_create",
        what=f"CreateCampaign over NATS, PostgreSQL, {CONCURRENCY} in flight",
        figure=ours["rate"],
        unit="creates/s",
        goal=GOAL,
        met=share is not None and share >= GOAL_RATIO,
        baseline=raw["rate"],
        ratio=share,
        details={"count": count, "concurrency": CONCURRENCY, "service": ours, "raw": raw},
        note=f"p50 {ours['p50_ms']:.1f} ms, p99 {ours['p99_ms']:.1f} ms",
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.campaign_create", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="500 creates instead of 3000")
    args = parser.parse_args()
    result = run(args.quick)
    path = write_json(result, args.quick)
    print(
        f"over NATS: {result.figure:.0f} creates/s; "
        f"raw eventsourcing: {result.baseline:.0f} creates/s; "
        f"ratio {result.ratio:.2f} (goal ≥ {GOAL_RATIO})"
    )
    print(table([result]))
    print(f"JSON: {path}")


if __name__ == "__main__":
    main()
