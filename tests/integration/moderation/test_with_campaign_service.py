"""Moderation against the real campaign service (its own process, only NATS between them):
new campaigns end in accepted, scheduled, rejected (reason = system comment) or clarification,
and a moderator then approves or rejects what waits in clarification."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client

from zvonar_contracts.campaign_events import CampaignModerated
from zvonar_contracts.codec import decode, decode_command_reply, encode
from zvonar_contracts.commands import CommandOk, CreateCampaign, ModerateCampaign
from zvonar_contracts.options import CampaignOptions, PhoneBaseRef, TtsAudio
from zvonar_contracts.subjects import campaign_command_subject, campaign_event_filter
from zvonar_devtools.natsserver import NatsServer
from zvonar_moderation.settings import ModerationSettings
from zvonar_runtime.health import wait_ready

from .conftest import Running, eventually

pytestmark = pytest.mark.integration


@pytest.fixture
def campaign_process(private_nats: NatsServer, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "NATS_URL": private_nats.url,
        "ZVONAR_DATA_DIR": str(tmp_path / "cs"),
        "ZVONAR_LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DATABASE_URL", None)
    with (tmp_path / "campaign.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "zvonar_campaign"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        yield process
        process.terminate()
        process.wait(timeout=30)


async def command(nc: Client, cmd: CreateCampaign | ModerateCampaign) -> CommandOk:
    msg = await nc.request(campaign_command_subject(type(cmd).__name__), encode(cmd), timeout=10)
    reply = decode_command_reply(msg.data)
    assert isinstance(reply, CommandOk), reply
    return reply


async def create(nc: Client, text: str, start_at: dt.datetime | None = None) -> int:
    options = CampaignOptions(name="Июнь", audio=TtsAudio(text=text), start_at=start_at)
    phones = PhoneBaseRef(bucket="phone-bases", name="0" * 64, count=1, sha256="0" * 64)
    cmd = CreateCampaign(
        account_id="acc_mod", account_tz="Europe/Moscow", options=options, phones=phones
    )
    reply = await command(nc, cmd)
    assert reply.campaign is not None
    return reply.campaign.campaign_id


async def test_rules_and_moderators_decide_through_the_campaign_service(
    client: Client,
    settings: ModerationSettings,
    moderation_service: Running,
    campaign_process: subprocess.Popen[bytes],
) -> None:
    await wait_ready(client, ["campaign"], timeout=60)
    moderated: dict[int, list[CampaignModerated]] = {}

    async def on_moderated(msg):  # type: ignore[no-untyped-def]
        event = decode(msg.data, CampaignModerated)
        moderated.setdefault(event.campaign_id, []).append(event)

    await client.jetstream().subscribe(
        campaign_event_filter("CampaignModerated"), cb=on_moderated, ordered_consumer=True
    )
    await moderation_service.start(settings)
    plain = await create(client, "Скидки на мебель до 30%")
    later = await create(client, "Весенняя акция", dt.datetime.now(dt.UTC) + dt.timedelta(days=3))
    gambling = await create(client, "Ставок на спорт больше, чем у всех!")
    loan_approved = await create(client, "Кредитом удобнее")
    loan_rejected = await create(client, "Займы до зарплаты")

    async def rules_decided() -> bool:
        return len(moderated) == 5

    await eventually(rules_decided, timeout=20)
    status = {cid: events[-1].status for cid, events in moderated.items()}
    assert status == {
        plain: "accepted",
        later: "scheduled",
        gambling: "rejected",
        loan_approved: "clarification",
        loan_rejected: "clarification",
    }
    assert "азартные игры" in moderated[gambling][0].reason
    assert {e.decided_by for events in moderated.values() for e in events} == {"rules"}

    approve = ModerateCampaign(
        account_id="acc_mod", campaign_id=loan_approved, decision="accepted", decided_by="moderator"
    )
    reject = ModerateCampaign(
        account_id="acc_mod",
        campaign_id=loan_rejected,
        decision="rejected",
        decided_by="moderator",
        reason="Нет лицензии ЦБ",
    )
    await command(client, approve)
    await command(client, reject)

    async def moderators_decided() -> bool:
        return len(moderated[loan_approved]) == 2 and len(moderated[loan_rejected]) == 2

    await eventually(moderators_decided, timeout=10)
    assert (moderated[loan_approved][-1].status, moderated[loan_approved][-1].decided_by) == (
        "accepted",
        "moderator",
    )
    assert moderated[loan_rejected][-1].status == "rejected"
    assert moderated[loan_rejected][-1].reason == "Нет лицензии ЦБ"
