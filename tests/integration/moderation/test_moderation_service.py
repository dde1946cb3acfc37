"""The moderation service on a real nats-server: CampaignCreated events from the stream end in
one ModerateCampaign decision each, through redelivery, restarts and an absent campaign
service."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import msgspec
import pytest
from nats.aio.client import Client

from zvonar_contracts.options import CampaignOptions, FileAudio, Status, TtsAudio, WordsIvr
from zvonar_contracts.subjects import CAMPAIGN_EVENTS_STREAM
from zvonar_moderation.bootstrap import bootstrap
from zvonar_moderation.domain.matching import Matcher
from zvonar_moderation.settings import ModerationSettings
from zvonar_runtime.jetstream import connect

from .conftest import CampaignServiceDouble, Running, eventually, publish_created

pytestmark = pytest.mark.integration


def tts(text: str, name: str = "Акция") -> CampaignOptions:
    return CampaignOptions(name=name, audio=TtsAudio(text=text))


async def consumer_settled(nc: Client, durable: str) -> bool:
    info = await nc.jetstream().consumer_info(CAMPAIGN_EVENTS_STREAM, durable)
    return bool(info.num_pending == 0 and info.num_ack_pending == 0)


async def test_each_kind_of_campaign_gets_its_decision(
    client: Client, settings: ModerationSettings, moderation_service: Running
) -> None:
    campaign = CampaignServiceDouble()
    await campaign.serve(client)
    cases = {
        1000001: tts("Здравствуйте! Скидки на мебель до 30%"),
        1000002: tts("Лучшие ставки на спорт — только у нас", name="Спорт"),
        1000003: tts("Одобрим кредит за 5 минут"),
        1000004: CampaignOptions(
            name="Весна",
            audio=FileAudio(file_id="upload/1", name="a.wav"),
            start_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        ),
        1000005: CampaignOptions(
            name="Опрос",
            audio=TtsAudio(text="Скажите да"),
            ivr=WordsIvr(lead_words=["да", "КАЗИНО!"]),
        ),
    }
    for campaign_id in cases:
        campaign.expect(campaign_id)
    await moderation_service.start(settings)
    for n, (campaign_id, options) in enumerate(cases.items(), start=1):
        await publish_created(client, campaign_id, options, msg_id=f"cl-{n}")

    async def all_decided() -> bool:
        return len(campaign.decided) == len(cases)

    await eventually(all_decided)
    decisions = {cid: command.decision for cid, command in campaign.decided.items()}
    assert decisions == {
        1000001: "accepted",
        1000002: "rejected",
        1000003: "clarification",
        1000004: "accepted",
        1000005: "rejected",
    }
    assert {command.decided_by for command in campaign.decided.values()} == {"rules"}
    assert "азартные игры" in campaign.decided[1000002].reason
    assert campaign.decided[1000001].reason == ""
    await eventually(lambda: consumer_settled(client, settings.consumer))


async def test_a_redelivered_event_is_not_decided_twice(
    client: Client, settings: ModerationSettings, moderation_service: Running
) -> None:
    campaign = CampaignServiceDouble()
    await campaign.serve(client)
    campaign.expect(1000011)
    campaign.expect(1000012)
    await moderation_service.start(settings)
    await publish_created(client, 1000011, tts("Займы под 0%"), msg_id="cl-11")

    async def first_decided() -> bool:
        return 1000011 in campaign.decided

    await eventually(first_decided)
    # The same fact again under another message id, then a restart of the consumer.
    await publish_created(client, 1000011, tts("Займы под 0%"), msg_id="cl-11-again")
    await eventually(lambda: consumer_settled(client, settings.consumer))
    await moderation_service.stop()
    await publish_created(client, 1000011, tts("Займы под 0%"), msg_id="cl-11-third")
    await moderation_service.start(settings)
    await publish_created(client, 1000012, tts("Привет"), msg_id="cl-12")

    async def marker_decided() -> bool:
        return 1000012 in campaign.decided

    await eventually(marker_decided)
    await eventually(lambda: consumer_settled(client, settings.consumer))
    assert [c.decision for c in campaign.requests_for(1000011)] == ["clarification"]


async def test_a_decision_waits_for_the_campaign_service_to_answer(
    client: Client, settings: ModerationSettings, moderation_service: Running
) -> None:
    await moderation_service.start(settings)
    await publish_created(client, 1000021, tts("Казино"), msg_id="cl-21")

    async def redelivered() -> bool:
        info = await client.jetstream().consumer_info(CAMPAIGN_EVENTS_STREAM, settings.consumer)
        return (info.num_redelivered or 0) >= 1

    # Nobody answers the command: the event is nacked and comes back, not lost.
    await eventually(redelivered)
    campaign = CampaignServiceDouble()
    campaign.expect(1000021)
    await campaign.serve(client)

    async def decided() -> bool:
        return 1000021 in campaign.decided

    await eventually(decided)
    await eventually(lambda: consumer_settled(client, settings.consumer))
    assert [c.decision for c in campaign.requests_for(1000021)] == ["rejected"]


async def test_a_campaign_decided_elsewhere_is_acknowledged(
    client: Client, settings: ModerationSettings, moderation_service: Running
) -> None:
    # The store lost its memory (a crash between sending and recording): the campaign
    # service's invalid_transition says the decision is already made.
    campaign = CampaignServiceDouble()
    campaign.expect(1000031, Status.ACCEPTED)
    await campaign.serve(client)
    moderation = await moderation_service.start(settings)
    await publish_created(client, 1000031, tts("Привет"), msg_id="cl-31")
    await eventually(lambda: consumer_settled(client, settings.consumer))
    assert len(campaign.requests_for(1000031)) == 1
    assert campaign.decided == {}
    assert await moderation.deps.decisions.is_decided(1000031)


async def test_a_malformed_event_is_dropped_and_the_next_one_decided(
    client: Client, settings: ModerationSettings, moderation_service: Running
) -> None:
    campaign = CampaignServiceDouble()
    campaign.expect(1000042)
    await campaign.serve(client)
    moderation = await moderation_service.start(settings)
    await client.jetstream().publish(
        "campaign.events.1000041.CampaignCreated",
        msgspec.json.encode({"type": "Nonsense"}),
        stream=CAMPAIGN_EVENTS_STREAM,
        headers={"Nats-Msg-Id": "cl-41"},
    )
    await publish_created(client, 1000042, tts("Привет"), msg_id="cl-42")

    async def decided() -> bool:
        return 1000042 in campaign.decided

    await eventually(decided)
    await eventually(lambda: consumer_settled(client, settings.consumer))
    assert campaign.requests_for(1000041) == []
    # Set aside where an operator finds it, not silently dropped.
    assert await moderation.parked.all() == [
        (CAMPAIGN_EVENTS_STREAM, 1, "campaign.events.1000041.CampaignCreated", "undecodable")
    ]


async def test_an_outage_of_the_campaign_service_is_waited_out_however_long(
    client: Client, settings: ModerationSettings, moderation_service: Running
) -> None:
    quick = settings.model_copy(update={"retry_delay": 0.01, "command_timeout": 0.05})
    moderation = await moderation_service.start(quick)
    await publish_created(client, 1000051, tts("Привет"), msg_id="cl-51")

    async def many_redeliveries() -> bool:
        info = await client.jetstream().consumer_info(CAMPAIGN_EVENTS_STREAM, quick.consumer)
        return (info.num_redelivered or 0) >= 1 and info.delivered.consumer_seq >= 7

    # Past the five deliveries after which a failing message is parked: still not parked.
    await eventually(many_redeliveries, timeout=20)
    campaign = CampaignServiceDouble()
    campaign.expect(1000051)
    await campaign.serve(client)

    async def decided() -> bool:
        return 1000051 in campaign.decided

    await eventually(decided)
    assert await moderation.parked.all() == []


class BrokenRules:
    """Rules that cannot be read: every decision fails, and not for want of a service."""

    def __init__(self) -> None:
        self.asked = 0

    def matcher(self) -> Matcher:
        self.asked += 1
        raise ValueError("rulebook corrupt")

    def reload(self) -> bool:
        return False


async def test_a_decision_that_keeps_failing_is_parked_and_the_next_one_goes_on(
    client: Client, settings: ModerationSettings
) -> None:
    quick = settings.model_copy(update={"retry_delay": 0.01})
    rules = BrokenRules()
    nc = await connect(quick.nats_url, "moderation-broken-rules")
    moderation = await bootstrap(quick, nc, rules=rules)
    task = asyncio.create_task(moderation.consumer.run())
    try:
        await publish_created(client, 1000061, tts("Привет"), msg_id="cl-61")

        async def parked() -> bool:
            return len(await moderation.parked.all()) == 1

        await eventually(parked)
        await eventually(lambda: consumer_settled(client, quick.consumer))
        [(_, seq, subject, reason)] = await moderation.parked.all()
        assert (seq, subject, reason) == (
            1,
            "campaign.events.1000061.CampaignCreated",
            "failed_repeatedly",
        )
        assert rules.asked == 5
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await moderation.db.aclose()
        await nc.close()
