"""A campaign runs through the dialer end to end at DIALER_TIME_SCALE=3600, on real NATS and
PostgreSQL, with a test double in the campaign service's place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from nats.aio.client import Client

from zvonar_contracts import commands as cmd
from zvonar_contracts.subjects import AUDIO_BUCKET, RECORDINGS_BUCKET, message_object
from zvonar_dialer.bootstrap import Dialer, run_in_process
from zvonar_dialer.settings import DialerSettings

from .conftest import CampaignDouble, completed, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

TEN = [f"+7916123450{d}" for d in range(10)]
EXPECTED = {
    0: "answered",
    1: "answered",
    2: "answered",
    3: "answered",
    4: "answered",
    5: "answered",
    6: "no_answer",
    7: "no_answer",
    8: "answered",
    9: "answered",
}


@pytest.fixture(params=["postgres", "sqlite"])
async def any_store_dialer(
    request: pytest.FixtureRequest, dialer_settings: DialerSettings, double: CampaignDouble
) -> AsyncIterator[Dialer]:
    """The dialer on PostgreSQL (DATABASE_URL) and on its default SQLite file."""
    if request.param == "sqlite":
        dialer_settings = dialer_settings.model_copy(update={"database_url": None})
    async with run_in_process(dialer_settings) as running:
        yield running


async def test_ten_numbers_end_finished_with_the_carrier_table(
    any_store_dialer: Dialer, double: CampaignDouble, nc: Client
) -> None:
    campaign_id = await double.create(TEN, speed=3600)

    await wait_for(lambda: bool(double.of(campaign_id, cmd.FinishCampaign)), what="finish")

    events = await completed(nc, campaign_id)
    assert {e.phone: e.outcome for e in events} == {p: EXPECTED[int(p[-1])] for p in TEN}
    assert len(events) == 10
    assert all(e.cost > 0 for e in events if e.outcome == "answered")
    assert all(e.cost == Decimal("0.00") for e in events if e.outcome != "answered")
    assert [type(c).__name__ for c in double.of(campaign_id)] == ["StartCampaign", "FinishCampaign"]
    message = await (await nc.jetstream().object_store(AUDIO_BUCKET)).get(
        message_object(double.account_id, campaign_id)
    )
    assert message.data and message.data[:4] == b"RIFF"


async def test_answered_calls_of_a_recorded_campaign_leave_a_recording(
    dialer: Dialer, double: CampaignDouble, nc: Client
) -> None:
    phones = ["+79161234600", "+79161234606", "+79161234609"]
    campaign_id = await double.create(phones, speed=3600, record=True)

    await wait_for(lambda: bool(double.of(campaign_id, cmd.FinishCampaign)), what="finish")

    events = {e.phone[-1]: e for e in await completed(nc, campaign_id)}
    assert events["6"].recording is None
    recordings = await nc.jetstream().object_store(RECORDINGS_BUCKET)
    for digit in "09":
        event = events[digit]
        assert event.recording == f"{double.account_id}/{campaign_id}/{event.call_id}.wav"
        stored = await recordings.get(event.recording)
        assert stored.data and stored.data[:4] == b"RIFF"
