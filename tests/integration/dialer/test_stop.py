"""A dialer stops within seconds whatever it is doing when stopped — also when the stop
comes as a NATS request is answered (Python 3.11's wait_for in nats-py then swallows it) —
and a body that raises at once does not leave its `run_in_process` hanging."""

from __future__ import annotations

import asyncio

import pytest

from zvonar_dialer.adapters.campaign_log import JetStreamCampaignLog
from zvonar_dialer.bootstrap import STOP_STEP_S, run_in_process
from zvonar_dialer.settings import DialerSettings

from .conftest import CampaignDouble

pytestmark = [pytest.mark.integration, pytest.mark.postgres]
# Well under one shutdown step's bound: the dialer's jobs must end, not be given up on.
STOPS_WITHIN_S = STOP_STEP_S / 2


async def test_a_dialer_stopped_as_nats_answers_its_catch_up_stops_within_seconds(
    dialer_settings: DialerSettings, double: CampaignDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = asyncio.Event()
    real_behind = JetStreamCampaignLog.behind

    async def answered_as_stopped(self: JetStreamCampaignLog) -> int:
        asked.set()
        try:
            await asyncio.Event().wait()  # the request in flight…
        except asyncio.CancelledError:
            pass  # …answered in the turn the stop came: wait_for returns, the stop is lost
        return await real_behind(self)

    monkeypatch.setattr(JetStreamCampaignLog, "behind", answered_as_stopped)
    stopped = asyncio.Event()

    async def body_fails_at_once() -> None:
        try:
            async with run_in_process(dialer_settings):
                await asked.wait()
                raise ValueError("the test body failed")
        except ValueError:
            stopped.set()

    running = asyncio.create_task(body_fails_at_once())
    async with asyncio.timeout(30):
        await asked.wait()
    try:
        async with asyncio.timeout(STOPS_WITHIN_S):
            await stopped.wait()
    finally:
        if not running.done():
            running.cancel()


async def test_a_dialer_stopped_as_a_campaign_is_created_stops_within_seconds(
    dialer_settings: DialerSettings, double: CampaignDouble
) -> None:
    stopped = asyncio.Event()

    async def create_then_stop() -> None:
        async with run_in_process(dialer_settings):
            await double.create([f"+7916523460{d}" for d in range(5)], speed=3600)
        stopped.set()

    running = asyncio.create_task(create_then_stop())
    try:
        async with asyncio.timeout(30 + STOPS_WITHIN_S):
            await stopped.wait()
    finally:
        if not running.done():
            running.cancel()
    running.result()
