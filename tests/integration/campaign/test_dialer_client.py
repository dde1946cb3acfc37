"""The campaign service's questions to the dialer over NATS, answered and unanswered."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from nats.aio.client import Client

from zvonar_campaign.adapters.dialer import NatsDialer
from zvonar_contracts.options import Status

pytestmark = pytest.mark.integration


async def test_the_dialers_clock_and_placement_are_used_when_it_answers(
    client: Client, fake_dialer: Any
) -> None:
    dialer = NatsDialer(client)
    assert await dialer.clock() == fake_dialer.now
    assert await dialer.placement(1_000_001) is Status.PAUSED_WINDOW


async def test_a_silent_dialer_falls_back_to_the_wall_clock_and_in_progress(
    client: Client,
) -> None:
    dialer = NatsDialer(client, timeout=0.3)
    before = dt.datetime.now(dt.UTC)
    now = await dialer.clock()
    assert before <= now <= dt.datetime.now(dt.UTC)
    assert await dialer.placement(1_000_001) is Status.IN_PROGRESS
