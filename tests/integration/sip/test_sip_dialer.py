"""The dialer with DIALER_CARRIER=sip against SIPp, end to end: a campaign's calls go out as
INVITEs (one per number and part, SIPp's own record says), their results come back as
CallCompleted with cost and the callee's recording; refusals by the trunk pause running
campaigns by the system; a call cut off by a dialer stop is `failed`, `interrupted`, and
never sent again in the same part."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest
from nats.aio.client import Client
from prometheus_client import REGISTRY

from tests.integration.dialer.conftest import CampaignDouble, call_events, completed, wait_for
from zvonar_contracts import campaign_events as ev
from zvonar_contracts import commands as cmd
from zvonar_contracts.call_events import InboundCallAnswered
from zvonar_contracts.options import CallerIdRouting, KeysIvr
from zvonar_contracts.subjects import RECORDINGS_BUCKET, recording_object
from zvonar_dialer.adapters import store
from zvonar_dialer.bootstrap import run_in_process
from zvonar_dialer.settings import DialerSettings

from .conftest import Sipp, free_ports, wav_stats

SIP = {"carrier": "sip"}

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

SippFactory = Callable[..., Awaitable[Sipp]]
CALLER = "+74950000009"


def over_sip(settings: DialerSettings, sipp: Sipp, **changes: object) -> DialerSettings:
    rtp = free_ports(60)
    fields: dict[str, object] = {
        "carrier": "sip",
        "sip_trunk": f"sip:127.0.0.1:{sipp.port}",
        "sip_bind": "127.0.0.1:0",
        "sip_public_host": "127.0.0.1",
        "rtp_ports": f"{rtp}-{rtp + 59}",
        "sip_ring_timeout_s": 2.0,
        "ivr_wait_s": 1.0,
        "sip_cps": 50.0,
    }
    fields.update(changes)
    return settings.model_copy(update=fields)


async def test_a_recorded_campaign_over_sip(
    sipp_factory: SippFactory, dialer_settings: DialerSettings, double: CampaignDouble, nc: Client
) -> None:
    phones = ["+79161230001", "+79161230002", "+79161230003"]
    sipp = await sipp_factory("uas_answer", rtp_echo=True, calls=len(phones))
    async with run_in_process(over_sip(dialer_settings, sipp)):
        campaign_id = await double.create(
            phones, speed=3600, record=True, routing=CallerIdRouting(number=CALLER)
        )
        await wait_for(
            lambda: bool(double.of(campaign_id, cmd.FinishCampaign)), timeout=60, what="finish"
        )

    events = await completed(nc, campaign_id)
    assert sorted(e.phone for e in events) == phones
    recordings = await nc.jetstream().object_store(RECORDINGS_BUCKET)
    for event in events:
        assert event.outcome == "answered"
        assert event.duration_s > 0.5 and event.cost > Decimal("0.00")
        assert event.caller_number == CALLER
        assert event.recording == recording_object(double.account_id, campaign_id, event.call_id)
        seconds, rms = wav_stats((await recordings.get(event.recording)).data or b"")
        assert seconds > 0.5 and rms > 300  # the message came back (-rtp_echo), not silence
    await sipp.finished()
    invites = sipp.received("INVITE")
    assert sorted(i.header("X-Zvonar-Call-Id") or "" for i in invites) == sorted(
        e.call_id for e in events
    )
    assert sorted(i.first_line.split()[1].split("@")[0] for i in invites) == [
        f"sip:{p.lstrip('+')}" for p in phones
    ]
    assert all((i.header("From") or "").startswith("<sip:74950000009@") for i in invites)


async def test_refusals_pause_by_the_system_and_the_trunk_back_resumes(
    sipp_factory: SippFactory, dialer_settings: DialerSettings, double: CampaignDouble, nc: Client
) -> None:
    sipp = await sipp_factory("uas_unavailable", calls=3)
    phones = [f"+7916123100{d}" for d in range(6)]
    settings = over_sip(dialer_settings, sipp, sip_cps=1.0, sip_no_answer_s=3.0)
    async with run_in_process(settings):
        campaign_id = await double.create(phones, speed=3600)
        await wait_for(
            lambda: bool(double.of(campaign_id, cmd.PauseCampaign)), timeout=30, what="pause"
        )
        (pause,) = double.of(campaign_id, cmd.PauseCampaign)
        assert pause.paused_by == "system"
        assert "503" in pause.reason
        # The trunk is back (answers the probe's OPTIONS, or a call): the campaign resumes.
        await sipp.finished()
        back = await sipp_factory("uas_options_and_answer", port=sipp.port, calls=100)
        await wait_for(
            lambda: bool(double.of(campaign_id, cmd.FinishCampaign)), timeout=60, what="finish"
        )
        assert double.of(campaign_id, cmd.ResumeCampaign)

    outcomes = {e.phone: e.outcome for e in await completed(nc, campaign_id)}
    assert sorted(outcomes) == phones
    assert [outcomes[p] for p in phones[:3]] == ["failed"] * 3
    assert "answered" in outcomes.values()
    await back.stop()
    answered = {i.header("X-Zvonar-Call-Id") for i in back.received("INVITE")}
    assert len(answered) == len(back.received("INVITE"))  # nobody rung twice


async def test_a_call_cut_off_by_a_stop_is_interrupted_and_not_sent_again(
    sipp_factory: SippFactory, dialer_settings: DialerSettings, double: CampaignDouble, nc: Client
) -> None:
    sipp = await sipp_factory("uas_ring", calls=1)
    settings = over_sip(dialer_settings, sipp, sip_ring_timeout_s=30.0)
    async with run_in_process(settings):
        campaign_id = await double.create(["+79161239999"], speed=3600)
        await wait_for(lambda: bool(sipp.received("INVITE")), timeout=20, what="the INVITE")
    # The dialer is gone with its call ringing; the next one finds the call interrupted.
    async with run_in_process(settings):
        await wait_for(
            lambda: bool(double.of(campaign_id, cmd.FinishCampaign)), timeout=30, what="finish"
        )
    (event,) = await completed(nc, campaign_id)
    assert (event.outcome, event.reason, event.cost) == ("failed", "interrupted", Decimal("0.00"))
    await sipp.stop()
    assert len(sipp.received("INVITE")) == 1
    assert len(sipp.received("CANCEL")) == 1  # the stopping dialer stopped the ringing


async def test_one_channel_makes_calls_wait_and_says_why(
    sipp_factory: SippFactory, dialer_settings: DialerSettings, double: CampaignDouble, nc: Client
) -> None:
    phones = ["+79161240001", "+79161240002", "+79161240003"]
    sipp = await sipp_factory("uas_answer", calls=len(phones))
    in_use: list[float] = []  # zvonar_dialer_channels_in_use, as a scrape would read it

    def finished() -> bool:
        in_use.append(REGISTRY.get_sample_value("zvonar_dialer_channels_in_use", SIP) or 0.0)
        return bool(double.of(campaign_id, cmd.FinishCampaign))

    async with run_in_process(over_sip(dialer_settings, sipp, sip_channels=1)):
        assert REGISTRY.get_sample_value("zvonar_dialer_channels_limit", SIP) == 1
        campaign_id = await double.create(phones, speed=3600)
        await wait_for(finished, timeout=60, what="finish")
        assert REGISTRY.get_sample_value("zvonar_dialer_channels_in_use", SIP) == 0

    assert max(in_use) == 1  # the one line, taken while a call lasted, never more
    assert "no_free_channel" in [c.reason for c in double.of(campaign_id, cmd.ReportIdle)]
    assert [e.outcome for e in await completed(nc, campaign_id)] == ["answered"] * 3
    await sipp.finished()
    invites = sorted(m.at for m in sipp.received("INVITE"))
    byes = sorted(m.at for m in sipp.received("BYE"))
    assert len(invites) == len(byes) == 3
    assert byes[0] <= invites[1] and byes[1] <= invites[2]  # one call at a time


async def test_calls_to_a_caller_number_hear_its_campaign_and_others_get_404(
    sipp_factory: SippFactory, dialer_settings: DialerSettings, double: CampaignDouble, nc: Client
) -> None:
    trunk = await sipp_factory("uas_answer", calls=1)
    port = free_ports(1)
    dialer = f"127.0.0.1:{port}"
    async with run_in_process(over_sip(dialer_settings, trunk, sip_bind=dialer)):
        campaign_id = await double.create(
            ["+79161250001"], speed=3600, routing=CallerIdRouting(number=CALLER)
        )
        await wait_for(
            lambda: bool(double.of(campaign_id, cmd.FinishCampaign)), timeout=60, what="finish"
        )
        # The number in the national format (8…) is the campaign's +7… caller number.
        caller = await sipp_factory(
            "uac_incoming", remote=dialer, service="84950000009", rtp_echo=True
        )
        stranger = await sipp_factory("uac_incoming_refused", remote=dialer, service="74990000000")
        await caller.finished()
        await stranger.finished()

        async def answered() -> bool:
            events = await call_events(nc, campaign_id)
            return any(isinstance(e, InboundCallAnswered) for e in events)

        await wait_for(answered, timeout=20, what="InboundCallAnswered")

    assert caller.process is not None and caller.process.returncode == 0  # 200, ACK, our BYE
    assert stranger.process is not None and stranger.process.returncode == 0  # the 404
    (ok,) = [m for m in caller.messages() if m.first_line.startswith("SIP/2.0 200")][:1]
    assert "m=audio" in ok.text and "PCMA/8000" in ok.text
    assert len(caller.received("BYE")) == 1
    (event,) = [e for e in await call_events(nc, campaign_id) if isinstance(e, InboundCallAnswered)]
    assert (event.caller_number, event.phone, event.played) == (CALLER, "+79990001122", True)

    # After "Освободить номер" the number is nobody's: 404.
    async with run_in_process(over_sip(dialer_settings, trunk, sip_bind=dialer)) as running:
        await double.event(campaign_id, ev.CampaignNumberReleased, number=CALLER)

        async def released() -> bool:
            return await running.database.run(lambda cur: store.route_of(cur, CALLER)) is None

        await wait_for(released, timeout=20, what="the release applied")
        refused = await sipp_factory("uac_incoming_refused", remote=dialer, service="74950000009")
        await refused.finished()
    assert refused.process is not None and refused.process.returncode == 0


async def test_a_key_pressed_over_sip_makes_a_lead_in_the_campaign(
    sipp_factory: SippFactory, dialer_settings: DialerSettings, double: CampaignDouble, nc: Client
) -> None:
    sipp = await sipp_factory("uas_dtmf", calls=1)
    async with run_in_process(over_sip(dialer_settings, sipp, ivr_wait_s=3.0)):
        campaign_id = await double.create(
            ["+79161260001"], speed=3600, ivr=KeysIvr(lead_keys=["1"])
        )
        await wait_for(
            lambda: bool(double.of(campaign_id, cmd.FinishCampaign)), timeout=60, what="finish"
        )

    (event,) = await completed(nc, campaign_id)
    assert (event.outcome, event.answer_text, event.lead) == ("answered", "1", True)
    assert event.cost > Decimal("0.00")
