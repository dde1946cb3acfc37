"""The campaign service decides with the dialer's clock read from its key-value entry, and
never asks the dialer anything while it handles a command: with nobody answering on
`dialer.req.*`, acceptance and a customer's resume follow the published dialer clock (not
the wall clock) and no request is sent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from zvonar_contracts import commands as c
from zvonar_contracts import subjects
from zvonar_contracts.clock import ClockOrigin
from zvonar_contracts.commands import CommandOk
from zvonar_contracts.options import CampaignOptions, PhoneBaseRef, Status, TtsAudio
from zvonar_runtime.dialer_clock import publish_clock

from .conftest import DIALER_NOW

pytestmark = pytest.mark.integration

ACCOUNT = "acc_clock"
PHONES = PhoneBaseRef(bucket="phone-bases", name="c" * 64, count=3, sha256="c" * 64)


def ok(reply: Any) -> CommandOk:
    assert isinstance(reply, CommandOk), reply
    return reply


async def test_start_and_resume_follow_the_published_clock_with_no_dialer_answering(
    campaign_service: Any, tmp_path: Path, client: Client, dialer_clock: ClockOrigin
) -> None:
    # The published dialer clock is months behind the wall clock: a start time between the
    # two is ahead only by the dialer's clock.
    start_at = DIALER_NOW + dt.timedelta(days=1)
    assert start_at < dt.datetime.now(dt.UTC)
    asked: list[str] = []

    async def record(msg: Msg) -> None:  # listens, never answers
        asked.append(msg.subject)

    listening = await client.subscribe("dialer.req.>", cb=record)
    await client.flush()
    try:
        async with campaign_service(None, tmp_path / "campaign.sqlite3") as service:
            send = service.send
            options = CampaignOptions(name="Часы", audio=TtsAudio(text="Алло"), start_at=start_at)
            created = ok(
                await send(
                    c.CreateCampaign(
                        account_id=ACCOUNT,
                        account_tz="Europe/Moscow",
                        options=options,
                        phones=PHONES,
                    )
                )
            )
            assert created.campaign is not None
            cid = created.campaign.campaign_id
            steps: list[tuple[Any, Status]] = [
                (
                    c.ModerateCampaign(
                        account_id=ACCOUNT, campaign_id=cid, decision="accepted", decided_by="rules"
                    ),
                    Status.SCHEDULED,
                ),
                (
                    c.StartCampaign(account_id=ACCOUNT, campaign_id=cid, started_at=start_at),
                    Status.IN_PROGRESS,
                ),
                (c.PauseCampaign(account_id=ACCOUNT, campaign_id=cid), Status.PAUSED),
                # The customer's resume: the start is still ahead of the dialer's clock.
                (c.ResumeCampaign(account_id=ACCOUNT, campaign_id=cid), Status.SCHEDULED),
            ]
            for command, status in steps:
                reply = ok(await send(command))
                assert reply.campaign is not None and reply.campaign.status is status, command
            await client.flush()
    finally:
        await listening.unsubscribe()
    assert asked == []


async def test_the_clock_is_the_wall_clock_until_published_then_follows_each_entry(
    campaign_service: Any,
    tmp_path: Path,
    client: Client,
    wait_for: Callable[..., Awaitable[Any]],
) -> None:
    async with campaign_service(None, tmp_path / "campaign.sqlite3") as service:
        reader = service.clock
        before = dt.datetime.now(dt.UTC)
        assert reader.origin is None  # no dialer has ever started
        assert before <= reader.now() <= dt.datetime.now(dt.UTC)

        js = client.jetstream()
        kv = await js.key_value(subjects.DIALER_CLOCK_BUCKET)
        await kv.put(subjects.DIALER_CLOCK_KEY, b"not a clock")  # logged and ignored
        first = ClockOrigin(wall=dt.datetime.now(dt.UTC), dialer=DIALER_NOW, scale=1.0)
        await publish_clock(js, first)

        async def read(origin: ClockOrigin) -> bool:
            return bool(reader.origin == origin)

        await wait_for(lambda: read(first), timeout=30)
        assert DIALER_NOW <= reader.now() < DIALER_NOW + dt.timedelta(hours=1)

        # A dialer restarted with another time scale: followed without a restart here.
        faster = ClockOrigin(
            wall=dt.datetime.now(dt.UTC), dialer=DIALER_NOW + dt.timedelta(days=30), scale=60.0
        )
        await publish_clock(js, faster)
        await wait_for(lambda: read(faster), timeout=30)
        assert reader.now() >= DIALER_NOW + dt.timedelta(days=30)
