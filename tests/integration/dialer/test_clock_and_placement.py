"""The dialer publishes its clock for the other services (they compute "dialer now" from the
key-value entry, never asking), and places a campaign after a customer's resume: the
campaign service records `in_progress`, and the dialer marks it out of its window itself
when every zone it still has numbers in is closed."""

from __future__ import annotations

import datetime as dt

import pytest
from nats.aio.client import Client

from zvonar_contracts import campaign_events as ev
from zvonar_contracts import commands as cmd
from zvonar_contracts.options import WEEKDAYS, CallingWindow, Status
from zvonar_dialer.bootstrap import Dialer
from zvonar_runtime.dialer_clock import ClockReader

from .conftest import CampaignDouble, completed, dialer_clock, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


async def test_the_published_clock_reads_as_the_dialer_answers(dialer: Dialer, nc: Client) -> None:
    reader = ClockReader()
    await reader.start(nc.jetstream())
    try:
        assert reader.origin == dialer.deps.clock.published
        assert reader.origin.scale == 3600.0
        before = reader.now()
        answered = await dialer_clock(nc)
        after = reader.now()
        assert before <= answered <= after
    finally:
        await reader.stop()


async def test_a_resume_into_a_closed_window_is_placed_out_of_it_by_the_dialer(
    dialer: Dialer, double: CampaignDouble, nc: Client
) -> None:
    now = await dialer_clock(nc)
    # Closed for the next 20 dialer hours (20 wall seconds at scale 3600), then open for two.
    opens, closes = now + dt.timedelta(hours=20), now + dt.timedelta(hours=22)
    window = CallingWindow(
        days=list(WEEKDAYS),
        from_=opens.strftime("%H:%M"),
        to=closes.strftime("%H:%M"),
        tz="account",
    )
    phones = [f"+7916623450{d}" for d in range(5)]
    campaign_id = await double.create(phones, speed=3600, window=window)
    await wait_for(lambda: bool(double.of(campaign_id, cmd.MarkOutOfWindow)), what="out")

    # The customer pauses it, then resumes it: the campaign service records in_progress.
    await double.event(campaign_id, ev.CampaignPaused, paused_by="customer", reason="")
    double.status[campaign_id] = Status.IN_PROGRESS
    await double.event(campaign_id, ev.CampaignResumed, status=Status.IN_PROGRESS)

    await wait_for(lambda: len(double.of(campaign_id, cmd.MarkOutOfWindow)) == 2, what="placed")
    second = double.of(campaign_id, cmd.MarkOutOfWindow)[1]
    assert second.reopens_at is not None
    assert abs((second.reopens_at - opens.replace(second=0, microsecond=0)).total_seconds()) < 60
    assert await completed(nc, campaign_id) == []  # nobody rung while the window is closed
