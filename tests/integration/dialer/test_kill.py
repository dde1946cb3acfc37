"""The dialer is SIGKILLed again and again during a 2,000-number smart campaign; every number
still gets exactly one final CallCompleted per part, and the carrier rings nobody twice."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from nats.aio.client import Client

from tests.reliability.invariants import carrier_rings, ring_faults
from zvonar_contracts import commands as cmd
from zvonar_contracts.options import SmartOptions
from zvonar_runtime.health import wait_ready

from .conftest import CampaignDouble, completed, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

PHONES = [f"+79168{n:06d}" for n in range(2000)]
REDIALLED = {p for p in PHONES if p[-1] in "67"}  # no answer; 8 answers with AMD off
KILLS = 5


class DialerProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "zvonar_dialer"], env=self.env, stdout=out, stderr=out
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def dialer_process(nats_url: str, pg_url: str, tmp_path: Path) -> Iterator[DialerProcess]:
    env = {
        **os.environ,
        "NATS_URL": nats_url,
        "DATABASE_URL": pg_url,
        "DIALER_TIME_SCALE": "3600",
        "DIALER_TICK_SECONDS": "0.01",
        "ZVONAR_DATA_DIR": str(tmp_path),
        "ZVONAR_LOG_LEVEL": "info",
        "ZVONAR_LOG_FORMAT": "json",
    }
    process = DialerProcess(env, tmp_path / "dialer.log")
    yield process
    process.stop()


def wait_for_calls_in_flight(pg_url: str, timeout: float = 10.0) -> bool:
    """Block until some numbers are `placing` (a burst is being dialled), or time out."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(pg_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT COUNT(*) FROM dialer.numbers WHERE state = 'placing'")
            if row.fetchone()[0]:  # type: ignore[index]
                return True
    return False


async def test_killed_again_and_again_nobody_is_called_twice_and_nothing_is_lost(
    dialer_process: DialerProcess, double: CampaignDouble, nc: Client, pg_url: str
) -> None:
    dialer_process.start()
    await wait_ready(nc, ["dialer"], timeout=30)
    campaign_id = await double.create(PHONES, speed=300, smart=SmartOptions(parts=1))

    kills = 0
    for _ in range(KILLS):
        await asyncio.sleep(random.uniform(0.5, 1.5))  # fault injection at a random moment…
        if double.of(campaign_id, cmd.FinishCampaign):
            break
        # …while a burst of calls is being placed, so that recovery has work to do.
        if not await asyncio.to_thread(wait_for_calls_in_flight, pg_url):
            break
        dialer_process.kill()
        kills += 1
        dialer_process.start()
        await wait_ready(nc, ["dialer"], timeout=30)

    await wait_for(lambda: bool(double.of(campaign_id, cmd.FinishCampaign)), 60, "finish")
    assert kills >= 3, "the campaign ended before the dialer could be killed mid-way"
    expected = len(PHONES) + len(REDIALLED)

    async def all_published() -> bool:
        return len(await completed(nc, campaign_id)) >= expected

    await wait_for(all_published, 30, "every result in the stream")
    events = await completed(nc, campaign_id)
    per_part = Counter((e.phone, e.part) for e in events)
    assert len(events) == expected
    assert set(per_part.values()) == {1}
    assert {p for p, part in per_part if part == 0} == set(PHONES)
    assert {p for p, part in per_part if part == 1} == REDIALLED
    # The carrier's own record: every number rung exactly once in each part it was in.
    dialled = {(campaign_id, phone, part) for phone, part in per_part}
    rings = carrier_rings(pg_url)
    assert ring_faults(rings, dialled) == {}
    assert sum(rings.values()) == expected
    assert "calls_recovered" in dialer_process.log.read_text(), "no kill left calls to recover"
