"""The dialer's answers on `dialer.req.*`, the inbound line, pausing, and failed messages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import msgspec
import pytest
from nats.aio.client import Client

from zvonar_contracts import campaign_events as ev
from zvonar_contracts import commands as cmd
from zvonar_contracts.call_events import InboundCallAnswered
from zvonar_contracts.codec import decode, encode
from zvonar_contracts.dialer import (
    ClockReply,
    CostQuote,
    GetClock,
    InboundCall,
    InboundCallReply,
    QuoteCost,
    SynthesizePreview,
    SynthesizeReply,
)
from zvonar_contracts.options import (
    WEEKDAYS,
    CallerIdRouting,
    CallingWindow,
    FileAudio,
    Status,
    TtsAudio,
)
from zvonar_contracts.subjects import AUDIO_BUCKET, dialer_request_subject, uploaded_audio_object
from zvonar_dialer.adapters import store
from zvonar_dialer.bootstrap import Dialer
from zvonar_dialer.service_layer.scheduler import placement_of
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

    reached = await ask(nc, InboundCall(phone=phones[0], caller_number=number), InboundCallReply)
    assert reached == InboundCallReply(campaign_id=campaign_id, played=True)

    async def inbound_recorded() -> bool:
        events = await call_events(nc, campaign_id)
        return any(isinstance(e, InboundCallAnswered) and e.phone == phones[0] for e in events)

    await wait_for(inbound_recorded, what="the inbound call in the stream")

    await double.event(campaign_id, ev.CampaignNumberReleased, number=number)

    async def released() -> bool:
        reply = await ask(nc, InboundCall(phone=phones[0], caller_number=number), InboundCallReply)
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
        return await dialer.database.run(done) > 0

    await wait_for(some_done, what="first calls")
    await double.event(campaign_id, ev.CampaignPaused, paused_by="customer")

    async def paused() -> bool:
        return (
            await dialer.database.run(lambda c: store.campaign_status(c, campaign_id)) == "paused"
        )

    await wait_for(paused, what="paused")

    def placing(cur: Cursor) -> int:
        cur.execute(
            "SELECT COUNT(*) FROM numbers WHERE campaign_id = ? AND state = 'placing'",
            (campaign_id,),
        )
        return int(cur.fetchone()[0])

    async def nothing_in_flight() -> bool:
        return await dialer.database.run(placing) == 0

    # A burst claimed before the pause was already dialled: it finishes, nothing after it.
    await wait_for(nothing_in_flight, what="the calls in flight to finish")
    settled = await dialer.database.run(done)
    # A hundred call intervals of dialer time later, nobody more was called.
    later = await dialer_clock(nc) + dt.timedelta(seconds=100)
    await wait_for(lambda: _after(nc, later), what="the clock to move on")
    assert await dialer.database.run(done) == settled < len(phones)
    assert await placed(dialer, campaign_id) == Status.IN_PROGRESS


async def placed(dialer: Dialer, campaign_id: int) -> Status:
    """Where the dialer would put the campaign if it resumed it now (after the carrier)."""
    now = dialer.deps.clock.now()
    return await dialer.deps.db.run(lambda tx: placement_of(tx, campaign_id, now))


async def _after(nc: Client, moment: dt.datetime) -> bool:
    return await dialer_clock(nc) > moment


async def test_placement_of_a_paused_campaign_follows_its_window(
    dialer: Dialer, double: CampaignDouble, nc: Client
) -> None:
    now = await dialer_clock(nc)
    opens, closes = now + dt.timedelta(hours=5), now + dt.timedelta(hours=6)
    window = CallingWindow(
        days=list(WEEKDAYS),
        from_=opens.strftime("%H:%M"),
        to=closes.strftime("%H:%M"),
    )
    campaign_id = await double.create(["+79167100000"], speed=3600, window=window)
    await wait_for(lambda: bool(double.of(campaign_id, cmd.MarkOutOfWindow)), what="out of window")
    await double.event(campaign_id, ev.CampaignPaused, paused_by="customer")

    assert await placed(dialer, campaign_id) == Status.PAUSED_WINDOW


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
    msg = await nc.request(dialer_request_subject("QuoteCost"), b'{"numbers": "x"}', 5)

    assert "numbers" in msgspec.json.decode(msg.data)["error"]


async def test_a_missing_audio_file_fails_the_campaign(
    dialer: Dialer, double: CampaignDouble
) -> None:
    campaign_id = await double.create(["+79167300000"], audio=FileAudio(file_id="upload/nowhere"))

    await wait_for(lambda: bool(double.of(campaign_id, cmd.FailCampaign)), what="failure")
    assert "missing" in double.of(campaign_id, cmd.FailCampaign)[0].reason


async def test_a_quote_prices_the_base_as_its_calls_are_then_billed(
    dialer: Dialer, double: CampaignDouble, nc: Client
) -> None:
    """Issue 18 point 14: the expected cost of a base is the dialer's own tariff applied to
    every number answering and hearing the whole message — what the campaign then costs
    when every number does (the simulated carrier answers numbers ending in 0..5)."""
    text = "Здравствуйте! Это проверка ожидаемой стоимости рассылки."
    phones = [f"+7916623460{d}" for d in range(4)]
    reply = await ask(nc, QuoteCost(numbers=len(phones), text=text, recording=True), CostQuote)
    assert isinstance(reply, CostQuote) and reply.error is None
    assert 0 < reply.message_duration_s < 60
    # Billed a minute at 1.80 + 0.30 for recording (tariff.toml).
    assert (reply.billed_s, reply.price_per_minute) == (60, Decimal("2.10"))
    assert (reply.per_call, reply.total) == (Decimal("2.10"), Decimal("8.40"))

    campaign_id = await double.create(phones, audio=TtsAudio(text=text), record=True, speed=3600)
    await wait_for(lambda: bool(double.of(campaign_id, cmd.FinishCampaign)), what="finish")
    calls = await completed(nc, campaign_id)
    assert len(calls) == len(phones) and all(c.outcome == "answered" for c in calls)
    assert sum((c.cost for c in calls), Decimal("0.00")) == reply.total


async def test_a_quote_of_a_measured_file_adds_each_surcharge_per_started_increment(
    dialer: Dialer, nc: Client
) -> None:
    reply = await ask(
        nc,
        QuoteCost(numbers=1000, message_duration_s=61.0, recognition=True, recording=True),
        CostQuote,
    )
    assert isinstance(reply, CostQuote) and reply.error is None
    # 61 s bills two minutes at 1.80 + 0.50 (recognition) + 0.30 (recording).
    assert (reply.billed_s, reply.price_per_minute, reply.per_call) == (
        120,
        Decimal("2.60"),
        Decimal("5.20"),
    )
    assert reply.total == Decimal("5200.00")


@pytest.mark.parametrize(
    "request_",
    [
        QuoteCost(numbers=-1, message_duration_s=10.0),
        QuoteCost(numbers=1_000_001, message_duration_s=10.0),
        QuoteCost(numbers=5, message_duration_s=601.0),
        QuoteCost(numbers=5, message_duration_s=float("nan")),
        QuoteCost(numbers=5, text="   "),
    ],
)
async def test_a_quote_out_of_bounds_says_why(
    dialer: Dialer, nc: Client, request_: QuoteCost
) -> None:
    reply = await ask(nc, request_, CostQuote)
    assert isinstance(reply, CostQuote)
    assert reply.error and reply.total == Decimal("0.00")
