"""Smart parts re-dial exactly the numbers that did not answer; cancel-all stops them."""

from __future__ import annotations

import pytest
from nats.aio.client import Client

from zvonar_contracts import campaign_events as ev
from zvonar_contracts import commands as cmd
from zvonar_contracts.options import SmartOptions
from zvonar_dialer.bootstrap import Dialer

from .conftest import CampaignDouble, completed, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

TEN = [f"+7916223450{d}" for d in range(10)]
NOT_ANSWERING = {p for p in TEN if p[-1] in "678"}  # no answer (6, 7), machine with AMD (8)


async def test_smart_parts_redial_exactly_the_numbers_that_did_not_answer(
    dialer: Dialer, double: CampaignDouble, nc: Client
) -> None:
    smart = SmartOptions(parts=2, delay_minutes=30)
    campaign_id = await double.create(TEN, speed=3600, amd=True, smart=smart)

    await wait_for(lambda: bool(double.of(campaign_id, cmd.FinishCampaign)), what="finish")

    events = await completed(nc, campaign_id)
    by_part = {part: {e.phone for e in events if e.part == part} for part in (0, 1, 2)}
    assert by_part == {0: set(TEN), 1: NOT_ANSWERING, 2: NOT_ANSWERING}
    assert len(events) == 10 + 3 + 3
    assert {e.outcome for e in events if e.part > 0} == {"no_answer", "machine"}
    kinds = [type(c).__name__ for c in double.of(campaign_id) if not isinstance(c, cmd.ReportIdle)]
    assert kinds == [
        "StartCampaign",
        "StartSmartPart",
        "FinishSmartPart",
        "StartSmartPart",
        "FinishSmartPart",
        "FinishCampaign",
    ]
    assert [c.phone_count for c in double.of(campaign_id, cmd.StartSmartPart)] == [3, 3]
    idle = double.of(campaign_id, cmd.ReportIdle)
    assert [c.reason for c in idle] == ["smart_part_delay", "smart_part_delay"]


async def test_cancel_all_stops_the_parts_not_yet_called(
    dialer: Dialer, double: CampaignDouble, nc: Client
) -> None:
    # Ten dialer hours of delay: ten wall seconds, time enough to cancel.
    smart = SmartOptions(parts=3, delay_minutes=600)
    campaign_id = await double.create(TEN, speed=3600, amd=True, smart=smart)
    await wait_for(lambda: bool(double.of(campaign_id, cmd.ReportIdle)), what="delay")

    await double.event(campaign_id, ev.SmartPartsCancelled, parts=[1, 2, 3])

    await wait_for(lambda: bool(double.of(campaign_id, cmd.FinishCampaign)), what="finish")
    events = await completed(nc, campaign_id)
    assert {e.part for e in events} == {0}
    assert not double.of(campaign_id, cmd.StartSmartPart)
