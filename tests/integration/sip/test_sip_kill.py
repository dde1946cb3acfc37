"""Exactly once with a real carrier: the dialer (DIALER_CARRIER=sip, its own process) is
SIGKILLed mid-call again and again against SIPp. SIPp's own record shows one INVITE per
number and part; calls cut off by a kill end `failed`, `interrupted`, and the smart part
dials them again (once)."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client

from tests.integration.dialer.conftest import CampaignDouble, completed, wait_for
from tests.integration.dialer.test_kill import DialerProcess, wait_for_calls_in_flight
from zvonar_contracts import commands as cmd
from zvonar_contracts.options import CampaignOptions, SmartOptions, TtsAudio
from zvonar_runtime.health import wait_ready

from .conftest import Sipp, free_ports

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.faults]

PHONES = [f"+7916777{n:04d}" for n in range(24)]
KILLS = 3
LONG_MESSAGE = "Здравствуйте. Это сообщение звучит несколько секунд, чтобы звонок шёл долго."


@pytest.fixture
def sip_dialer(
    nats_url: str, pg_url: str, tmp_path: Path
) -> Iterator[Callable[[int], DialerProcess]]:
    made: list[DialerProcess] = []

    def make(trunk_port: int) -> DialerProcess:
        rtp = free_ports(100)
        env = {
            **os.environ,
            "NATS_URL": nats_url,
            "DATABASE_URL": pg_url,
            "DIALER_TIME_SCALE": "3600",
            "DIALER_TICK_SECONDS": "0.01",
            "ZVONAR_DATA_DIR": str(tmp_path),
            "ZVONAR_LOG_FORMAT": "json",
            "DIALER_CARRIER": "sip",
            "DIALER_SIP_TRUNK": f"sip:127.0.0.1:{trunk_port}",
            "DIALER_SIP_BIND": "127.0.0.1:0",
            "DIALER_SIP_PUBLIC_HOST": "127.0.0.1",
            "DIALER_RTP_PORTS": f"{rtp}-{rtp + 99}",
            "DIALER_SIP_CHANNELS": "6",
            "DIALER_SIP_CPS": "20",
        }
        process = DialerProcess(env, tmp_path / "dialer.log")
        made.append(process)
        return process

    yield make
    for process in made:
        process.stop()


async def test_killed_mid_call_nobody_is_rung_twice_in_a_part(
    sipp_factory: Callable[..., Awaitable[Sipp]],
    sip_dialer: Callable[[int], DialerProcess],
    double: CampaignDouble,
    nc: Client,
    pg_url: str,
) -> None:
    sipp = await sipp_factory("uas_answer", calls=10_000)
    dialer = sip_dialer(sipp.port)
    dialer.start()
    await wait_ready(nc, ["dialer"], timeout=30)
    options = CampaignOptions(
        name="kill", audio=TtsAudio(text=LONG_MESSAGE), speed=3600, smart=SmartOptions(parts=1)
    )
    campaign_id = await double.create(PHONES, options=options)

    kills = 0
    for _ in range(KILLS):
        # mid-call: numbers `placing` and SIPp already answering some of them
        if not await asyncio.to_thread(wait_for_calls_in_flight, pg_url, 30.0):
            break
        # Into the message: a call answered and acknowledged, its RTP flowing.
        acks = len(sipp.received("ACK"))
        await wait_for(
            lambda seen=acks: len(sipp.received("ACK")) > seen,  # type: ignore[misc]
            timeout=20,
            what="an answered call",
        )
        if double.of(campaign_id, cmd.FinishCampaign):
            break
        dialer.kill()
        kills += 1
        dialer.start()
        await wait_ready(nc, ["dialer"], timeout=30)

    await wait_for(lambda: bool(double.of(campaign_id, cmd.FinishCampaign)), 120, "finish")
    assert kills >= 2, "the campaign ended before the dialer could be killed mid-call"
    events = await completed(nc, campaign_id)
    per_part = Counter((e.phone, e.part) for e in events)
    assert set(per_part.values()) == {1}
    assert {p for p, part in per_part if part == 0} == set(PHONES)
    interrupted = [e for e in events if e.reason == "interrupted"]
    assert interrupted and all(e.outcome == "failed" and e.part == 0 for e in interrupted)
    assert {e.phone for e in interrupted} <= {p for p, part in per_part if part == 1}
    await sipp.stop()
    # One call (SIP Call-ID) per call id; re-transmissions of its INVITE are the same call.
    calls = {(i.header("X-Zvonar-Call-Id"), i.header("Call-ID")) for i in sipp.received("INVITE")}
    invites = Counter(call_id for call_id, _ in calls)
    assert set(invites.values()) == {1}, "a number was rung twice in one part"
    assert set(invites) <= {e.call_id for e in events}
