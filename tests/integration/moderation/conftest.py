"""Fixtures for the moderation integration tests: a private nats-server per test (so no other
suite's CampaignCreated events reach the consumer), a stand-in for the campaign service's
ModerateCampaign port, and a way to start and restart the moderation service in-process."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from zvonar_contracts.campaign_events import CampaignCreated
from zvonar_contracts.codec import decode_command, encode
from zvonar_contracts.commands import (
    CampaignState,
    CommandError,
    CommandOk,
    CommandReply,
    ModerateCampaign,
)
from zvonar_contracts.options import CampaignOptions, PhoneBaseRef, Status
from zvonar_contracts.subjects import (
    CAMPAIGN_COMMANDS_QUEUE,
    CAMPAIGN_EVENTS_STREAM,
    MSG_ID_HEADER,
    POSITION_HEADER,
    campaign_command_subject,
    campaign_event_subject,
)
from zvonar_devtools.natsserver import NatsServer
from zvonar_moderation.adapters.morphology import pymorphy_lemmatizer
from zvonar_moderation.bootstrap import Moderation, bootstrap
from zvonar_moderation.domain.matching import Lemmatize
from zvonar_moderation.settings import ModerationSettings
from zvonar_runtime.jetstream import connect, ensure_jetstream

ACCOUNT = "acc_moderation"


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Poll `check` until it holds, failing after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"not true within {timeout} s: {check.__name__}")
        await asyncio.sleep(0.05)


@dataclass
class CampaignServiceDouble:
    """Plays the campaign service's part for ModerateCampaign: a campaign in moderation takes
    one decision; any later one is an invalid transition; an unknown campaign is not found."""

    statuses: dict[int, Status] = field(default_factory=dict)
    requests: list[ModerateCampaign] = field(default_factory=list)
    decided: dict[int, ModerateCampaign] = field(default_factory=dict)

    def expect(self, campaign_id: int, status: Status = Status.MODERATION) -> None:
        self.statuses[campaign_id] = status

    def answer(self, command: ModerateCampaign) -> CommandReply:
        self.requests.append(command)
        status = self.statuses.get(command.campaign_id)
        if status is None:
            return CommandError(code="not_found", message="no such campaign")
        if status is not Status.MODERATION:
            return CommandError(code="invalid_transition", message=f"campaign is {status}")
        self.statuses[command.campaign_id] = Status(command.decision)
        self.decided[command.campaign_id] = command
        state = CampaignState(
            campaign_id=command.campaign_id, account_id=ACCOUNT, status=Status(command.decision)
        )
        return CommandOk(position=len(self.requests), campaign=state)

    def requests_for(self, campaign_id: int) -> list[ModerateCampaign]:
        return [c for c in self.requests if c.campaign_id == campaign_id]

    async def serve(self, nc: Client) -> Any:
        async def on_command(msg: Msg) -> None:
            command = decode_command(msg.data)
            assert isinstance(command, ModerateCampaign)
            await msg.respond(encode(self.answer(command)))

        return await nc.subscribe(
            campaign_command_subject("ModerateCampaign"),
            queue=CAMPAIGN_COMMANDS_QUEUE,
            cb=on_command,
        )


@pytest.fixture(scope="module")
def lemmatize() -> Lemmatize:
    return pymorphy_lemmatizer()


@pytest.fixture
def private_nats(tmp_path: Path) -> Iterator[NatsServer]:
    with NatsServer(tmp_path / "nats", log_file=tmp_path / "nats.log") as server:
        yield server


@pytest.fixture
async def client(private_nats: NatsServer) -> AsyncIterator[Client]:
    nc = await connect(private_nats.url, "moderation-test")
    await ensure_jetstream(nc.jetstream())
    yield nc
    await nc.close()


@pytest.fixture
def settings(private_nats: NatsServer, tmp_path: Path) -> ModerationSettings:
    return ModerationSettings(
        nats_url=private_nats.url,
        data_dir=tmp_path / "data",
        command_timeout=0.5,
        retry_delay=0.2,
    )


class Running:
    """Start and stop the moderation service in this process, as `serve` would: built
    through `bootstrap`, its consumer run as a background job and cancelled to stop."""

    def __init__(self, lemmatize: Lemmatize) -> None:
        self.lemmatize = lemmatize
        self.current: tuple[Client, Moderation, asyncio.Task[None]] | None = None

    async def start(self, settings: ModerationSettings) -> Moderation:
        nc = await connect(settings.nats_url, "moderation-under-test")
        moderation = await bootstrap(settings, nc, lemmatize=self.lemmatize)
        await moderation.consumer.ensure()  # the durable exists once started, as with serve
        task = asyncio.create_task(moderation.consumer.run())
        self.current = (nc, moderation, task)
        return moderation

    async def stop(self) -> None:
        if self.current is not None:
            nc, moderation, task = self.current
            self.current = None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await moderation.db.aclose()
            await nc.close()


@pytest.fixture
async def moderation_service(lemmatize: Lemmatize) -> AsyncIterator[Running]:
    running = Running(lemmatize)
    yield running
    await running.stop()


async def publish_created(
    nc: Client, campaign_id: int, options: CampaignOptions, *, msg_id: str
) -> None:
    event = CampaignCreated(
        campaign_id=campaign_id,
        account_id=ACCOUNT,
        at=dt.datetime.now(dt.UTC),
        options=options,
        phones=PhoneBaseRef(bucket="phone-bases", name="0" * 64, count=1, sha256="0" * 64),
        account_tz="Europe/Moscow",
    )
    headers = {MSG_ID_HEADER: msg_id, POSITION_HEADER: str(campaign_id)}
    await nc.jetstream().publish(
        campaign_event_subject(campaign_id, "CampaignCreated"),
        encode(event),
        stream=CAMPAIGN_EVENTS_STREAM,
        headers=headers,
    )
