"""Bench: the CPU an idle dialer spends with many campaigns scheduled for later (none due),
before and after the scheduler let such campaigns sleep until their moment.

`uv run --frozen python -m bench.dialer_idle [--campaigns N] [--seconds S] [--postgres]` —
prints both figures and writes bench/results/dialer_idle.json; the `dialer_idle` row of
`make bench` (PostgreSQL, 500 campaigns, 30 s; 10 s with --quick). Not part of the pytest
suite. The row's baseline is the "before" figure (its ratio: the share of it left).

Each run is a whole dialer in this process (`run_in_process`, its own nats-server and store)
fed N campaigns scheduled for 2099 through the campaign stream; once its consumer has applied
them all and a warm-up has passed, the process CPU time (every thread: the store's work runs
off the event loop) is read over S seconds of wall time. "Before" is the same dialer with the
sleeping turned off (every campaign loaded every tick, and prepared at once as at creation):
the scheduler's pass as it was. With --postgres the PostgreSQL server's share is not in the
figure (it is another process).
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats

from bench.dialer_calls import database, nats_url
from zvonar_contracts import campaign_events as ev
from zvonar_contracts.codec import encode, type_name
from zvonar_contracts.options import CampaignOptions, PhoneBaseRef, Status, TtsAudio
from zvonar_contracts.subjects import (
    CAMPAIGN_EVENTS_STREAM,
    DIALER_CAMPAIGN_CONSUMER,
    MSG_ID_HEADER,
    PHONE_BASES_BUCKET,
    POSITION_HEADER,
    campaign_event_subject,
)
from zvonar_dialer.bootstrap import Dialer, run_in_process
from zvonar_dialer.service_layer.ports import Tx
from zvonar_dialer.service_layer.scheduler import Scheduler
from zvonar_dialer.settings import DialerSettings
from zvonar_runtime.logging import configure_logging

RESULTS = Path(__file__).resolve().parent / "results"
START_AT = dt.datetime(2099, 1, 1, 9, 0, tzinfo=dt.UTC)
WARM_UP_S = 3.0
FIRST_ID = 800_000_000
GOAL_PERCENT = 5.0
GOAL = f"≤ {GOAL_PERCENT:.0f} % of a core idle (500 scheduled campaigns)"


@contextlib.contextmanager
def as_before() -> Iterator[None]:
    """The scheduler as it was: no campaign sleeps, the list of active campaigns is read
    every pass."""
    asleep, active_ids = Scheduler.asleep, Scheduler.active_ids

    async def read_every_pass(self: Scheduler, monotonic: float) -> list[int]:
        self.wake_all()
        return await active_ids(self, monotonic)

    def never_asleep(self: Scheduler, campaign_id: int, now: dt.datetime, monotonic: float) -> bool:
        return False

    Scheduler.asleep = never_asleep  # type: ignore[method-assign]  # the old pass, for the figure
    Scheduler.active_ids = read_every_pass  # type: ignore[method-assign]  # the old pass, too
    try:
        yield
    finally:
        Scheduler.asleep = asleep  # type: ignore[method-assign]  # put back
        Scheduler.active_ids = active_ids  # type: ignore[method-assign]  # put back


async def schedule(url: str, campaigns: int) -> None:
    """N campaigns created and accepted as scheduled for 2099, through the campaign stream."""
    nc = await nats.connect(url, name="bench-dialer-idle")
    js = nc.jetstream()
    phones = "".join(f"+7917{n:07d}\n" for n in range(10)).encode()
    digest = hashlib.sha256(phones).hexdigest()
    await (await js.object_store(PHONE_BASES_BUCKET)).put(digest, phones)
    ref = PhoneBaseRef(bucket=PHONE_BASES_BUCKET, name=digest, count=10, sha256=digest)
    options = CampaignOptions(name="idle", audio=TtsAudio(text="Здравствуйте"), start_at=START_AT)
    now = dt.datetime.now(dt.UTC)
    position = 0
    for n in range(campaigns):
        cid = FIRST_ID + n
        common: dict[str, Any] = {"campaign_id": cid, "account_id": "acc_idle", "at": now}
        for event in (
            ev.CampaignCreated(**common, options=options, phones=ref, account_tz="UTC"),
            ev.CampaignModerated(
                **common, decision="accepted", decided_by="rules", status=Status.SCHEDULED
            ),
        ):
            position += 1
            headers = {MSG_ID_HEADER: f"idle-{uuid.uuid4().hex}", POSITION_HEADER: str(position)}
            subject = campaign_event_subject(cid, type_name(event))
            await js.publish(subject, encode(event), headers=headers)
    # Applied by the dialer: its consumer has nothing pending or unacknowledged.
    while True:
        info = await js.consumer_info(CAMPAIGN_EVENTS_STREAM, DIALER_CAMPAIGN_CONSUMER)
        if info.num_pending == 0 and info.num_ack_pending == 0:
            break
        await asyncio.sleep(0.2)
    await nc.close()


async def prepared(dialer: Dialer, campaigns: int) -> int:
    """How many of the campaigns the dialer has prepared (base loaded, message stored)."""

    def work(tx: Tx) -> int:
        copies = [tx.load_campaign(FIRST_ID + n) for n in range(campaigns)]
        return sum(1 for c in copies if c is not None and c.loaded and c.message_ready)

    return await dialer.deps.db.run(work)


async def idle_cpu(campaigns: int, seconds: float, postgres: bool, before: bool) -> float:
    """Per cent of one core the dialer process used over `seconds` with nothing due."""
    with nats_url() as url, tempfile.TemporaryDirectory() as data_dir:
        async with database(postgres) as database_url:
            settings = DialerSettings(
                nats_url=url,
                database_url=database_url,
                data_dir=Path(data_dir),
                log_level="warning",
            )
            async with run_in_process(settings) as dialer:
                await schedule(url, campaigns)
                # Before, every campaign is prepared at once: idle is after that.
                while before:
                    if await prepared(dialer, campaigns) == campaigns:
                        break
                    await asyncio.sleep(0.5)
                await asyncio.sleep(WARM_UP_S)  # the first passes end
                cpu, wall = time.process_time(), time.perf_counter()
                await asyncio.sleep(seconds)
                return 100 * (time.process_time() - cpu) / (time.perf_counter() - wall)


async def run(quick: bool = False, postgres: bool = True) -> dict[str, Any]:
    return await measure(500, 10.0 if quick else 30.0, postgres)


async def measure(campaigns: int, seconds: float, postgres: bool) -> dict[str, Any]:
    configure_logging("bench", "warning", "console")
    with as_before():
        before = await idle_cpu(campaigns, seconds, postgres, before=True)
    after = await idle_cpu(campaigns, seconds, postgres, before=False)
    return {
        "name": "dialer_idle",
        "what": f"idle dialer CPU, % of a core, {campaigns} campaigns scheduled for 2099",
        "backend": "postgres" if postgres else "sqlite",
        "campaigns": campaigns,
        "seconds": seconds,
        "figure": round(after, 2),
        "baseline": round(before, 2),
        "unit": "% of a core",
        "goal": GOAL,
        "met": after <= GOAL_PERCENT,
        "before_cpu_percent": round(before, 2),
        "after_cpu_percent": round(after, 2),
        "nproc": os.cpu_count(),
        "at": time.time(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--postgres", action="store_true", help="store on PostgreSQL")
    args = parser.parse_args()
    result = asyncio.run(measure(args.campaigns, args.seconds, args.postgres))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "dialer_idle.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"idle dialer ({result['backend']}, {args.campaigns} scheduled campaigns, "
        f"{args.seconds:.0f} s): before {result['before_cpu_percent']:.1f} % of a core, "
        f"after {result['after_cpu_percent']:.1f} % -> {path}"
    )


if __name__ == "__main__":
    main()
