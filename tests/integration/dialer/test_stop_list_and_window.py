"""Stop-listed numbers are never dialled; a closed window pauses the campaign and it
resumes by itself when the window opens."""

from __future__ import annotations

import datetime as dt

import pytest
from nats.aio.client import Client

from zvonar_contracts import campaign_events as ev
from zvonar_contracts import commands as cmd
from zvonar_contracts.options import WEEKDAYS, CallingWindow
from zvonar_dialer.bootstrap import Dialer
from zvonar_runtime.db import Cursor

from .conftest import CampaignDouble, completed, dialer_clock, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


async def test_stop_listed_numbers_are_reported_and_never_dialled(
    dialer: Dialer, double: CampaignDouble, nc: Client
) -> None:
    phones = [f"+7916323450{d}" for d in range(10)]
    listed = [phones[3], phones[6]]
    await double.publish(
        ev.StopListPhonesAdded(account_id=double.account_id, at=double.now(), phones=listed)
    )
    campaign_id = await double.create(phones, speed=3600)

    await wait_for(lambda: bool(double.of(campaign_id, cmd.FinishCampaign)), what="finish")

    events = await completed(nc, campaign_id)
    assert sorted(e.phone for e in events if e.outcome == "stop_listed") == sorted(listed)
    assert len(events) == 10

    def rung(cur: Cursor) -> list[str]:
        cur.execute("SELECT phone FROM carrier_calls WHERE call_id LIKE ?", (f"{campaign_id}-%",))
        return [r[0] for r in cur.fetchall()]

    dialled = await dialer.database.run(rung)
    assert len(dialled) == 8
    assert not set(listed) & set(dialled)


async def test_a_campaign_whose_numbers_left_are_all_stop_listed_says_so_and_finishes(
    dialer: Dialer, double: CampaignDouble, nc: Client
) -> None:
    phones = [f"+7916523450{d}" for d in range(6)]
    await double.publish(
        ev.StopListPhonesAdded(account_id=double.account_id, at=double.now(), phones=phones)
    )
    campaign_id = await double.create(phones, speed=3600)

    await wait_for(lambda: bool(double.of(campaign_id, cmd.FinishCampaign)), what="finish")

    kinds = [type(c).__name__ for c in double.of(campaign_id)]
    assert kinds == ["StartCampaign", "ReportIdle", "FinishCampaign"]
    assert double.of(campaign_id, cmd.ReportIdle)[0].reason == "all_stop_listed"
    events = await completed(nc, campaign_id)
    assert sorted(e.phone for e in events) == phones
    assert {e.outcome for e in events} == {"stop_listed"}


async def test_a_closed_window_pauses_the_campaign_until_it_opens(
    dialer: Dialer, double: CampaignDouble, nc: Client
) -> None:
    now = await dialer_clock(nc)
    # Opens two dialer hours from now (two wall seconds at scale 3600), for two hours.
    opens, closes = now + dt.timedelta(hours=2), now + dt.timedelta(hours=4)
    window = CallingWindow(
        days=list(WEEKDAYS),
        from_=opens.strftime("%H:%M"),
        to=closes.strftime("%H:%M"),
        tz="account",
    )
    phones = [f"+7916423450{d}" for d in range(10)]
    campaign_id = await double.create(phones, speed=3600, window=window)

    await wait_for(lambda: bool(double.of(campaign_id, cmd.FinishCampaign)), what="finish")

    kinds = [type(c).__name__ for c in double.of(campaign_id)]
    assert kinds == [
        "StartCampaign",
        "ReportIdle",
        "MarkOutOfWindow",
        "ResumeCampaign",
        "FinishCampaign",
    ]
    out = double.of(campaign_id, cmd.MarkOutOfWindow)[0]
    assert out.reopens_at is not None
    assert abs((out.reopens_at - opens.replace(second=0, microsecond=0)).total_seconds()) < 60
    assert double.of(campaign_id, cmd.ResumeCampaign)[0].status == "in_progress"
    events = await completed(nc, campaign_id)
    assert len(events) == 10
    assert all(e.started_at >= out.reopens_at for e in events)
