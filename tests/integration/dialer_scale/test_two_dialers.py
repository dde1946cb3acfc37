"""Two dialer processes on one PostgreSQL database share six campaigns on the simulated
carrier; one is SIGKILLed mid-way and the other takes its campaigns over once their leases
age out. Every number is rung exactly once, its result published once, and the caller
numbers' counts add up to the calls placed."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from nats.aio.client import Client

from tests.reliability.invariants import carrier_rings, ring_faults
from zvonar_contracts import commands as cmd
from zvonar_runtime.health import wait_ready

from ..dialer import conftest as harness
from ..dialer.conftest import CampaignDouble, completed, wait_for
from ..dialer.test_kill import DialerProcess

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

TTL_S = 2.0
PARTITIONS = 8
NUMBERS = 300  # per campaign; at 3,000 calls an hour and 60 × time: 50 calls a second
CAMPAIGNS_EACH = 3


@pytest.fixture
def dialers(nats_url: str, pg_url: str, tmp_path: Path) -> Iterator[dict[str, DialerProcess]]:
    processes = {}
    for name in ("dialer-a", "dialer-b"):
        env = {
            **os.environ,
            "NATS_URL": nats_url,
            "DATABASE_URL": pg_url,
            "DIALER_TIME_SCALE": "60",
            "DIALER_TICK_SECONDS": "0.01",
            "DIALER_INSTANCE_ID": name,
            "DIALER_LEASE_TTL_S": str(TTL_S),
            "DIALER_LEASE_PARTITIONS": str(PARTITIONS),
            "ZVONAR_DATA_DIR": str(tmp_path / name),
            "ZVONAR_LOG_LEVEL": "info",
            "ZVONAR_LOG_FORMAT": "json",
        }
        processes[name] = DialerProcess(env, tmp_path / f"{name}.log")
    yield processes
    for process in processes.values():
        process.stop()


def holders(pg_url: str) -> dict[int, str]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        rows = conn.execute("SELECT part_no, holder FROM dialer.partition_leases").fetchall()
    return {int(part): str(holder) for part, holder in rows}


def rung(pg_url: str, campaign_ids: list[int]) -> Counter[int]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        made = conn.execute("SELECT to_regclass('dialer.carrier_rings')").fetchone()
        if made is None or made[0] is None:  # made by the carrier at its first ring
            return Counter()
        rows = conn.execute(
            "SELECT campaign_id, count(*) FROM dialer.carrier_rings "
            "WHERE campaign_id = ANY(%s) GROUP BY campaign_id",
            (campaign_ids,),
        ).fetchall()
    return Counter({int(c): int(n) for c, n in rows})


def caller_calls(pg_url: str) -> int:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        row = conn.execute("SELECT COALESCE(SUM(calls), 0) FROM dialer.caller_usage").fetchone()
    assert row is not None
    return int(row[0])


def next_id_held_by(holder: str, parts: dict[int, str]) -> int:
    """Skip the harness's campaign ids until the next one falls in `holder`'s partition."""
    while True:
        campaign_id = next(harness._ids) + 1  # the id `create` takes next
        if parts[campaign_id % PARTITIONS] == holder:
            return campaign_id


async def start_sharing(
    dialers: dict[str, DialerProcess], double: CampaignDouble, nc: Client, pg_url: str
) -> dict[str, list[int]]:
    """Start A, then B; once they split the partitions, make three campaigns in each one's
    partitions and wait until both dial. The campaigns by the dialer that dials them."""
    a, b = dialers["dialer-a"], dialers["dialer-b"]
    a.start()
    await wait_ready(nc, ["dialer"], timeout=30)
    b.start()

    def split_evenly() -> bool:
        counts = Counter(holders(pg_url).values())
        return counts == {"dialer-a": PARTITIONS // 2, "dialer-b": PARTITIONS // 2}

    # A took every partition alone, then handed half over to B.
    await wait_for(lambda: asyncio.to_thread(split_evenly), 30, "the partitions split")
    parts = holders(pg_url)

    campaigns: dict[str, list[int]] = {"dialer-a": [], "dialer-b": []}
    for n in range(2 * CAMPAIGNS_EACH):
        holder = "dialer-a" if n % 2 == 0 else "dialer-b"
        wanted = next_id_held_by(holder, parts)
        phones = [f"+7916{n:02d}{i:05d}" for i in range(NUMBERS)]
        campaign_id = await double.create(phones, speed=3000)
        assert campaign_id == wanted
        campaigns[holder].append(campaign_id)
    every = campaigns["dialer-a"] + campaigns["dialer-b"]

    def both_dialling() -> bool:
        counts = rung(pg_url, every)
        return all(0 < counts[c] < NUMBERS // 2 for c in campaigns["dialer-a"]) and all(
            counts[c] > 0 for c in campaigns["dialer-b"]
        )

    await wait_for(lambda: asyncio.to_thread(both_dialling), 30, "both dialers dialling")
    assert holders(pg_url) == parts  # nobody took the other's partitions meanwhile
    return campaigns


async def check_every_number_once(
    double: CampaignDouble, nc: Client, pg_url: str, every: list[int]
) -> None:
    """Every campaign finished, each number rung once with one result in the stream, and
    the caller numbers' counts sum to the calls placed."""

    def all_finished() -> bool:
        return all(double.of(c, cmd.FinishCampaign) for c in every)

    await wait_for(all_finished, 90, "every campaign finished")
    dialled = set()
    for campaign_id in every:
        events = await completed(nc, campaign_id)
        per_phone = Counter(e.phone for e in events)
        assert len(per_phone) == NUMBERS and set(per_phone.values()) == {1}, campaign_id
        dialled |= {(campaign_id, phone, 0) for phone in per_phone}
    rings = await asyncio.to_thread(carrier_rings, pg_url)
    assert ring_faults(rings, dialled) == {}
    assert sum(rings.values()) == len(every) * NUMBERS
    assert await asyncio.to_thread(caller_calls, pg_url) == sum(rings.values())


async def b_takes_over(pg_url: str) -> float:
    """Seconds until dialer-b holds every partition."""
    started = time.monotonic()

    def b_holds_all() -> bool:
        return set(holders(pg_url).values()) == {"dialer-b"}

    await wait_for(lambda: asyncio.to_thread(b_holds_all), 30, "dialer-b to take over")
    return time.monotonic() - started


def calls_in_flight(pg_url: str, campaign_ids: list[int], timeout: float = 5.0) -> bool:
    """Block until a call of the campaigns is `placing` (being dialled), or time out."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(pg_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT 1 FROM dialer.numbers WHERE state = 'placing' AND campaign_id = ANY(%s)",
                (campaign_ids,),
            ).fetchone()
            if row is not None:
                return True
    return False


async def test_two_dialers_share_campaigns_and_one_takes_over_when_the_other_is_killed(
    dialers: dict[str, DialerProcess], double: CampaignDouble, nc: Client, pg_url: str
) -> None:
    campaigns = await start_sharing(dialers, double, nc, pg_url)
    every = campaigns["dialer-a"] + campaigns["dialer-b"]
    await asyncio.to_thread(calls_in_flight, pg_url, campaigns["dialer-a"])  # best effort
    dialers["dialer-a"].kill()
    took_over_s = await b_takes_over(pg_url)
    # The leases age out after TTL_S; B looks every third of it.
    assert took_over_s < TTL_S + TTL_S / 3 + 2.0, took_over_s
    await check_every_number_once(double, nc, pg_url, every)
    log_b = dialers["dialer-b"].log.read_text()
    assert "lease_taken" in log_b
    recovered = "calls.recovered" in log_b
    print(f"take-over after the kill: {took_over_s:.2f} s (lease {TTL_S} s); {recovered=}")


async def test_a_paused_dialer_wakes_up_fenced_and_then_shares_again(
    dialers: dict[str, DialerProcess], double: CampaignDouble, nc: Client, pg_url: str
) -> None:
    """SIGSTOP stands for a long GC pause or a cut network: the dialer's leases age out and
    the other takes its campaigns over; woken, it finds its leases lost, dials nobody of
    them, and takes its share again through the hand-over."""
    campaigns = await start_sharing(dialers, double, nc, pg_url)
    every = campaigns["dialer-a"] + campaigns["dialer-b"]
    a = dialers["dialer-a"].process
    assert a is not None
    await asyncio.to_thread(calls_in_flight, pg_url, campaigns["dialer-a"])
    a.send_signal(signal.SIGSTOP)
    try:
        await b_takes_over(pg_url)
    finally:
        a.send_signal(signal.SIGCONT)

    def shared_again() -> bool:
        return Counter(holders(pg_url).values()) == {
            "dialer-a": PARTITIONS // 2,
            "dialer-b": PARTITIONS // 2,
        }

    await wait_for(lambda: asyncio.to_thread(shared_again), 30, "the partitions shared again")
    await check_every_number_once(double, nc, pg_url, every)
    assert "lease_lost" in dialers["dialer-a"].log.read_text()
