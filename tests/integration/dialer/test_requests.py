"""The dialer's answers on `dialer.req.*`, the inbound line, pausing, and failed messages."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest
from nats.aio.client import Client

from zvonar_contracts import campaign_events as ev
from zvonar_contracts import commands as cmd
from zvonar_contracts.call_events import InboundCallAnswered
from zvonar_contracts.codec import decode, encode
from zvonar_contracts.dialer import (
    ClockReply,
    GetClock,
    GetPlacement,
    InboundCall,
    InboundCallReply,
    PlacementReply,
    SynthesizePreview,
    SynthesizeReply,
)
from zvonar_contracts.options import WEEKDAYS, CallerIdRouting, CallingWindow, FileAudio
from zvonar_contracts.subjects import AUDIO_BUCKET, dialer_request_subject, uploaded_audio_object
from zvonar_dialer.adapters import store
from zvonar_dialer.bootstrap import Dialer
from zvonar_runtime.db import Cursor

from .conftest import CampaignDouble, call_events, completed, dialer_clock, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


async def ask(nc: Client, request: object, reply_type: type) -> object:
    name = type(request).__name__
    msg = await nc.request(dialer_request_subject(name), encode(request), timeout=5)
    return decode(msg.data, reply_type)


async def test_the_clock_runs_scale_times_faster_than_the_wall(dialer: Dialer, nc: Client) -> None:
    first = await ask(nc, GetClock(), ClockReply)
    wall_start = dt.datetime.now(dt.UTC)
    await wait_for(lambda: dt.datetime.now(dt.UTC) - wall_start > dt.timedelta(seconds=0.2))
    second = await ask(nc, GetClock(), ClockReply)
    assert isinstance(first, ClockReply) and isinstance(second, ClockReply)
    assert first.scale == 3600
    assert (second.now - first.now) >= dt.timedelta(seconds=0.2 * 3600 * 0.9)


async def test_calls_back_reach_the_campaign_until_its_number_is_released(
    dialer: Dialer, double: CampaignDouble, nc: Client
) -> None:
    number = "+74957770001"
    phones = [f"+7916623450{d}" for d in range(3)]
    campaign_id = await double.create(phones, speed=3600, routing=CallerIdRouting(number=number))
    await wait_for(lambda: bool(double.of(campaign_id, cmd.FinishCampaign)), what="finish")
    assert {e.caller_number for e in await completed(nc, campaign_id)} == {number}

    reached = await ask(nc, InboundCall(caller=phones[0], number=number), InboundCallReply)
    assert reached == InboundCallReply(campaign_id=campaign_id, played=True)

    async def inbound_recorded() -> bool:
        events = await call_events(nc, campaign_id)
        return any(isinstance(e, InboundCallAnswered) and e.caller == phones[0] for e in events)

    await wait_for(inbound_recorded, what="the inbound call in the stream")

    await double.event(campaign_id, ev.CampaignNumberReleased, number=number)

    async def released() -> bool:
        reply = await ask(nc, InboundCall(caller=phones[0], number=number), InboundCallReply)
        return reply == InboundCallReply(campaign_id=None, played=False)

    await wait_for(released, what="the number released")


async def test_pausing_stops_the_dialling_at_once(
    dialer: Dialer, double: CampaignDouble, nc: Client
) -> None:
    phones = [f"+791670{n:05d}" for n in range(3000)]
    campaign_id = await double.create(phones, speed=3600)

    def done(cur: Cursor) -> int:
        cur.execute(
            "SELECT COUNT(*) FROM numbers WHERE campaign_id = ? AND state = 'done'", (campaign_id,)
        )
        return int(cur.fetchone()[0])

    async def some_done() -> bool:
        return await dialer.deps.db.run(done) > 0

    await wait_for(some_done, what="first calls")
    await double.event(campaign_id, ev.CampaignPaused, paused_by="customer")

    async def paused() -> bool:
        return await dialer.deps.db.run(lambda c: store.campaign_status(c, campaign_id)) == "paused"

    await wait_for(paused, what="paused")

    def placing(cur: Cursor) -> int:
        cur.execute(
            "SELECT COUNT(*) FROM numbers WHERE campaign_id = ? AND state = 'placing'",
            (campaign_id,),
        )
        return int(cur.fetchone()[0])

    async def nothing_in_flight() -> bool:
        return await dialer.deps.db.run(placing) == 0

    # A burst claimed before the pause was already dialled: it finishes, nothing after it.
    await wait_for(nothing_in_flight, what="the calls in flight to finish")
    settled = await dialer.deps.db.run(done)
    # A hundred call intervals of dialer time later, nobody more was called.
    later = await dialer_clock(nc) + dt.timedelta(seconds=100)
    await wait_for(lambda: _after(nc, later), what="the clock to move on")
    assert await dialer.deps.db.run(done) == settled < len(phones)
    placement = await ask(nc, GetPlacement(campaign_id=campaign_id), PlacementReply)
    assert placement == PlacementReply(status="in_progress")  # type: ignore[arg-type]


async def _after(nc: Client, moment: dt.datetime) -> bool:
    return await dialer_clock(nc) > moment


async def test_placement_of_a_paused_campaign_follows_its_window(
    dialer: Dialer, double: CampaignDouble, nc: Client
) -> None:
    now = await dialer_clock(nc)
    opens, closes = now + dt.timedelta(hours=5), now + dt.timedelta(hours=6)
    window = CallingWindow(
        days=list(WEEKDAYS),
        from_=opens.strftime("%H:%M"),  # type: ignore[arg-type]
        to=closes.strftime("%H:%M"),
    )
    campaign_id = await double.create(["+79167100000"], speed=3600, window=window)
    await wait_for(lambda: bool(double.of(campaign_id, cmd.MarkOutOfWindow)), what="out of window")
    await double.event(campaign_id, ev.CampaignPaused, paused_by="customer")

    placement = await ask(nc, GetPlacement(campaign_id=campaign_id), PlacementReply)

    assert placement == PlacementReply(status="paused_window")  # type: ignore[arg-type]


async def test_an_audio_file_that_is_not_audio_fails_the_campaign(
    dialer: Dialer, double: CampaignDouble, nc: Client
) -> None:
    name = uploaded_audio_object(double.account_id, "upload/not-audio")
    await (await nc.jetstream().object_store(AUDIO_BUCKET)).put(name, b"plain text")

    campaign_id = await double.create(["+79167200000"], audio=FileAudio(file_id="upload/not-audio"))

    await wait_for(lambda: bool(double.of(campaign_id, cmd.FailCampaign)), what="failure")
    failure = double.of(campaign_id, cmd.FailCampaign)[0]
    assert "audio" in failure.reason
    assert not double.of(campaign_id, cmd.StartCampaign)
    assert await completed(nc, campaign_id) == []


async def test_a_preview_is_synthesized_into_the_audio_bucket(dialer: Dialer, nc: Client) -> None:
    reply = await ask(
        nc, SynthesizePreview(text="Добрый день", account_id="acc_1"), SynthesizeReply
    )

    assert isinstance(reply, SynthesizeReply) and reply.error is None
    assert reply.audio_object is not None and reply.duration_s > 0
    assert reply.audio_object.startswith("acc_1/preview/")
    stored = await (await nc.jetstream().object_store(AUDIO_BUCKET)).get(reply.audio_object)
    assert stored.data and stored.data[:4] == b"RIFF"


async def test_a_malformed_request_gets_a_typed_error(dialer: Dialer, nc: Client) -> None:
    msg = await nc.request(dialer_request_subject("GetPlacement"), b'{"campaign_id": "x"}', 5)

    assert "campaign_id" in msgspec.json.decode(msg.data)["error"]


async def test_a_missing_audio_file_fails_the_campaign(
    dialer: Dialer, double: CampaignDouble
) -> None:
    campaign_id = await double.create(["+79167300000"], audio=FileAudio(file_id="upload/nowhere"))

    await wait_for(lambda: bool(double.of(campaign_id, cmd.FailCampaign)), what="failure")
    assert "missing" in double.of(campaign_id, cmd.FailCampaign)[0].reason
