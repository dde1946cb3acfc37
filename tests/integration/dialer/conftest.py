"""Integration harness for the dialer: a test double of the campaign service on
`campaign.cmd.*` (it records the commands, answers CommandOk and publishes the resulting
events to CAMPAIGN_EVENTS the way the campaign service would), the dialer run in-process
through its bootstrap, and readers of what it published."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import itertools
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypedDict

import msgspec
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout

from zvonar_contracts import campaign_events as ev
from zvonar_contracts import commands as cmd
from zvonar_contracts.call_events import CallCompleted, CallEvent
from zvonar_contracts.codec import decode, decode_command, encode, type_name
from zvonar_contracts.dialer import ClockReply, GetClock
from zvonar_contracts.options import CampaignOptions, PhoneBaseRef, Status, TtsAudio
from zvonar_contracts.subjects import (
    CALL_EVENTS_STREAM,
    MSG_ID_HEADER,
    PHONE_BASES_BUCKET,
    POSITION_HEADER,
    campaign_event_subject,
    dialer_request_subject,
    stop_list_event_subject,
)
from zvonar_dialer.bootstrap import Dialer, run_in_process
from zvonar_dialer.settings import DialerSettings


class Common(TypedDict):
    """The fields every campaign event carries."""

    campaign_id: int
    account_id: str
    at: dt.datetime


# Campaign ids unique within the session's NATS server (its streams outlive each test).
_ids = itertools.count(1_000_001 + random.randrange(0, 50_000_000, 1000))
_positions = itertools.count(1)
FINAL = {Status.FINISHED, Status.STOPPED, Status.ERROR, Status.REJECTED}
RUNNING = {Status.IN_PROGRESS}
ALLOWED_FROM: dict[type, set[Status]] = {
    cmd.StartCampaign: {Status.ACCEPTED, Status.SCHEDULED},
    cmd.MarkOutOfWindow: RUNNING,
    cmd.ResumeCampaign: {Status.PAUSED, Status.PAUSED_WINDOW},
    cmd.FinishCampaign: RUNNING,
    cmd.ReportIdle: RUNNING,
    cmd.StartSmartPart: RUNNING,
    cmd.FinishSmartPart: RUNNING,
}
STATUS_AFTER: dict[type, Status] = {
    ev.CampaignPaused: Status.PAUSED,
    ev.CampaignStopped: Status.STOPPED,
    ev.CampaignDeleted: Status.STOPPED,
}


class CampaignDouble:
    """Plays the campaign service for the dialer: commands in, events out."""

    def __init__(self, nc: Client, account_id: str = "acc_test", account_tz: str = "UTC") -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.account_id = account_id
        self.account_tz = account_tz
        self.commands: list[cmd.CampaignCommand] = []
        self.status: dict[int, Status] = {}
        self.parts: dict[tuple[type, int], set[int]] = {}
        self._sub: Any = None

    async def start(self) -> None:
        self._sub = await self.nc.subscribe("campaign.cmd.>", queue="campaign", cb=self._answer)

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()

    def of(self, campaign_id: int, kind: type | None = None) -> list[Any]:
        return [
            c
            for c in self.commands
            if getattr(c, "campaign_id", None) == campaign_id and (kind is None or type(c) is kind)
        ]

    # --- events out ------------------------------------------------------------------
    async def publish(self, event: ev.CampaignStreamEvent) -> int:
        position = next(_positions)
        if isinstance(event, ev.CampaignEventBase):
            subject = campaign_event_subject(event.campaign_id, type_name(event))
        else:
            subject = stop_list_event_subject(event.account_id, type_name(event))
        headers = {MSG_ID_HEADER: f"cl-{uuid.uuid4().hex}", POSITION_HEADER: str(position)}
        await self.js.publish(subject, encode(event), headers=headers)
        return position

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    async def create(
        self, phones: list[str], *, options: CampaignOptions | None = None, **changes: Any
    ) -> int:
        """A new campaign with `phones`, accepted by moderation (scheduled if start_at)."""
        options = options or CampaignOptions(name="test", audio=TtsAudio(text="Здравствуйте"))
        options = msgspec.structs.replace(options, **changes)
        campaign_id = next(_ids)
        base = "".join(f"{p}\n" for p in phones).encode()
        digest = hashlib.sha256(base).hexdigest()
        await (await self.js.object_store(PHONE_BASES_BUCKET)).put(digest, base)
        ref = PhoneBaseRef(bucket=PHONE_BASES_BUCKET, name=digest, count=len(phones), sha256=digest)
        common = Common(campaign_id=campaign_id, account_id=self.account_id, at=self.now())
        await self.publish(
            ev.CampaignCreated(**common, options=options, phones=ref, account_tz=self.account_tz)
        )
        status = Status.SCHEDULED if options.start_at else Status.ACCEPTED
        self.status[campaign_id] = status
        await self.publish(
            ev.CampaignModerated(**common, decision="accepted", decided_by="rules", status=status)
        )
        if options.start_at:
            await self.publish(ev.CampaignScheduled(**common, start_at=options.start_at))
        return campaign_id

    async def event(self, campaign_id: int, kind: type, **fields: Any) -> None:
        """A customer's action, as the campaign service would record it."""
        event = kind(campaign_id=campaign_id, account_id=self.account_id, at=self.now(), **fields)
        if kind in STATUS_AFTER:
            self.status[campaign_id] = STATUS_AFTER[kind]
        await self.publish(event)

    # --- commands in -----------------------------------------------------------------
    async def _answer(self, msg: Msg) -> None:
        command = decode_command(msg.data)
        self.commands.append(command)
        campaign_id = command.campaign_id  # type: ignore[union-attr]
        if command.account_id != self.account_id:  # another account's campaign: unknown
            missing = f"campaign {campaign_id} not found for {command.account_id}"
            await msg.respond(encode(cmd.CommandError(code="not_found", message=missing)))
            return
        refusal = self._refusal(command)
        if refusal is not None:
            error = cmd.CommandError(code="invalid_transition", message=refusal)
            await msg.respond(encode(error))
            return
        event, status = self._event_of(command)
        position = await self.publish(event)
        if status is not None:
            self.status[campaign_id] = status
        part_id = event.part_campaign_id if isinstance(event, ev.SmartPartStarted) else None
        state = cmd.CampaignState(
            campaign_id=campaign_id,
            account_id=self.account_id,
            status=self.status[campaign_id],
            part_campaign_id=part_id,
        )
        await msg.respond(encode(cmd.CommandOk(position=position, campaign=state)))

    def _refusal(self, c: Any) -> str | None:
        """Why the campaign service would refuse `c` (a replay after a crash included)."""
        current = self.status.get(c.campaign_id)
        allowed = ALLOWED_FROM.get(type(c))
        if current is None or current in FINAL or (allowed and current not in allowed):
            return f"{type(c).__name__} refused: the campaign is {current}"
        if isinstance(c, cmd.StartSmartPart | cmd.FinishSmartPart):
            seen = self.parts.setdefault((type(c), c.campaign_id), set())
            if c.part in seen:
                return f"part {c.part} already recorded"
            seen.add(c.part)
        return None

    def _event_of(self, c: Any) -> tuple[ev.CampaignEvent, Status | None]:
        common = {"campaign_id": c.campaign_id, "account_id": self.account_id, "at": self.now()}
        match c:
            case cmd.StartCampaign():
                return ev.CampaignStarted(**common, started_at=c.started_at), Status.IN_PROGRESS
            case cmd.MarkOutOfWindow():
                return ev.CampaignOutOfWindow(
                    **common, reopens_at=c.reopens_at
                ), Status.PAUSED_WINDOW
            case cmd.ResumeCampaign():
                status = c.status or Status.IN_PROGRESS
                return ev.CampaignResumed(**common, status=status), status
            case cmd.StartSmartPart():
                return ev.SmartPartStarted(
                    **common, part=c.part, part_campaign_id=next(_ids), phone_count=c.phone_count
                ), None
            case cmd.FinishSmartPart():
                return ev.SmartPartFinished(
                    **common, part=c.part, part_campaign_id=c.campaign_id + c.part
                ), None
            case cmd.FinishCampaign():
                return ev.CampaignFinished(**common), Status.FINISHED
            case cmd.FailCampaign():
                return ev.CampaignFailed(**common, reason=c.reason), Status.ERROR
            case cmd.ReportIdle():
                return ev.CampaignIdle(**common, reason=c.reason, until=c.until), None
            case cmd.PauseCampaign():
                return ev.CampaignPaused(
                    **common, paused_by=c.paused_by, reason=c.reason
                ), Status.PAUSED
        raise AssertionError(f"the double does not know {type(c).__name__}")


# --- readers -------------------------------------------------------------------------------
async def call_events(nc: Client, campaign_id: int) -> list[CallEvent]:
    """Every call event the stream holds for a campaign, in stream order."""
    js = nc.jetstream()
    sub = await js.pull_subscribe(f"call.events.{campaign_id}.>", stream=CALL_EVENTS_STREAM)
    events: list[CallEvent] = []
    try:
        while True:
            try:
                batch = await sub.fetch(1000, timeout=0.3)
            except (TimeoutError, NatsTimeout):
                break
            for msg in batch:
                events.append(decode(msg.data, CallEvent))  # type: ignore[arg-type]
                await msg.ack()
    finally:
        await sub.unsubscribe()
    return events


async def completed(nc: Client, campaign_id: int) -> list[CallCompleted]:
    return [e for e in await call_events(nc, campaign_id) if isinstance(e, CallCompleted)]


async def wait_for(
    predicate: Callable[[], Awaitable[bool] | bool], timeout: float = 20.0, what: str = ""
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = predicate()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.05)


async def dialer_clock(nc: Client) -> dt.datetime:
    msg = await nc.request(dialer_request_subject("GetClock"), encode(GetClock()), timeout=2)
    return decode(msg.data, ClockReply).now


# --- the dialer in-process -------------------------------------------------------------------
@pytest.fixture
def dialer_settings(nats_url: str, pg_url: str, tmp_path: Path) -> DialerSettings:
    return DialerSettings(
        nats_url=nats_url,
        database_url=pg_url,
        data_dir=tmp_path,
        time_scale=3600.0,
        tick_seconds=0.01,
        log_format="console",
    )


@pytest.fixture
async def double(nc: Client) -> AsyncIterator[CampaignDouble]:
    campaign = CampaignDouble(nc)
    await campaign.start()
    yield campaign
    await campaign.stop()


@pytest.fixture
async def dialer(dialer_settings: DialerSettings, double: CampaignDouble) -> AsyncIterator[Dialer]:
    async with run_in_process(dialer_settings) as running:
        yield running
