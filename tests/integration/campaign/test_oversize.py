"""Issue 14 point 1 below the gateway: a stored event NATS would refuse never reaches the
server. The relay parks it (table, log, metric) and goes on with the next position, so every
other account's commands and events keep flowing, after a restart too; a command over the
contract's limits sent straight over NATS is refused by the campaign service itself."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from nats.aio.client import Client
from structlog.testing import capture_logs

from tests.oversize import comment_too_large_for, store_comment
from zvonar_contracts import commands as c
from zvonar_contracts import subjects
from zvonar_contracts.codec import encode
from zvonar_contracts.commands import CommandError, CommandOk
from zvonar_contracts.options import CampaignOptions, PhoneBaseRef, TtsAudio, WordsIvr
from zvonar_runtime.metrics import MESSAGES_PARKED

pytestmark = pytest.mark.integration

PHONES = PhoneBaseRef(bucket="phone-bases", name="e" * 64, count=3, sha256="e" * 64)


def create(account: str, **changes: Any) -> c.CreateCampaign:
    options: dict[str, Any] = {"name": f"Акция {account}", "audio": TtsAudio(text="Алло")}
    options.update(changes)
    return c.CreateCampaign(
        account_id=account,
        account_tz="Europe/Moscow",
        options=CampaignOptions(**options),
        phones=PHONES,
    )


def ok(reply: Any) -> CommandOk:
    assert isinstance(reply, CommandOk), reply
    return reply


def parked_count(kind: str) -> float:
    value = MESSAGES_PARKED.labels(subjects.CAMPAIGN_EVENTS_STREAM, kind)._value.get()
    return float(value)


async def test_an_event_too_large_for_nats_is_parked_and_the_relay_goes_on(
    campaign_service: Any,
    tmp_path: Path,
    client: Client,
    dialer_clock: Any,
    read_stream: Callable[..., Awaitable[list[Any]]],
    wait_for: Callable[..., Awaitable[Any]],
) -> None:
    sqlite = tmp_path / "campaign.sqlite3"
    before = parked_count("too_large")
    async with campaign_service(None, sqlite) as service:
        victim = ok(await service.send(create("acc_a"))).campaign
        assert victim is not None
        app = service.store.app
        text = await asyncio.to_thread(
            comment_too_large_for, app, victim.campaign_id, client.max_payload
        )
        with capture_logs() as logs:
            position = await asyncio.to_thread(store_comment, app, victim.campaign_id, text)
            assert service.relay is not None
            service.relay.nudge()
            # Another account's create right behind it is stored, relayed and answered.
            other = ok(await service.send(create("acc_b"))).campaign
            assert other is not None

            async def relayed_b() -> bool:
                subject = subjects.campaign_event_subject(other.campaign_id, "CampaignCreated")
                return bool(await read_stream(subject))

            await wait_for(relayed_b)
        parked = await service.store.tables.parked_events()
        assert [(p.position, p.event_type) for p in parked] == [
            (position, "CampaignCommentChanged")
        ]
        assert parked[0].size > client.max_payload
        assert parked[0].reason.startswith("too_large")
        assert parked_count("too_large") == before + 1
        lines = [line for line in logs if line["event"] == "event_parked"]
        assert [line["position"] for line in lines] == [position], logs
        # Nothing of the parked event reached the stream; the connection is still up.
        comments = await read_stream(f"campaign.events.{victim.campaign_id}.CampaignCommentChanged")
        assert comments == []
        assert service.relay.js._nc.is_connected
        assert service.relay.position >= position
    # After a restart the relay starts past the parked event and goes on.
    async with campaign_service(None, sqlite) as service:
        third = ok(await service.send(create("acc_c"))).campaign
        assert third is not None

        async def relayed_c() -> bool:
            subject = subjects.campaign_event_subject(third.campaign_id, "CampaignCreated")
            return bool(await read_stream(subject))

        await wait_for(relayed_c)
        assert len(await service.store.tables.parked_events()) == 1
        assert parked_count("too_large") == before + 1


async def test_a_stored_event_that_cannot_be_read_is_parked(
    campaign_service: Any,
    tmp_path: Path,
    client: Client,
    dialer_clock: Any,
    read_stream: Callable[..., Awaitable[list[Any]]],
    wait_for: Callable[..., Awaitable[Any]],
) -> None:
    """Stored before the limits existed (or by hand): 30 lead words no longer decode."""
    sqlite = tmp_path / "campaign.sqlite3"
    async with campaign_service(None, sqlite, relay=False) as service:
        victim = ok(await service.send(create("acc_a"))).campaign
        assert victim is not None
        app = service.store.app

        def corrupt() -> int:
            # The Created event as stored, with lead words the contract no longer allows.
            words = msgspec.to_builtins(WordsIvr(lead_words=["да"] * 30))
            with app.recorder.datastore.transaction(commit=True) as cur:
                cur.execute("SELECT rowid, state FROM stored_events ORDER BY rowid DESC LIMIT 1")
                rowid, state = cur.fetchone()
                data = msgspec.json.decode(state)
                data["options"]["_data_"]["ivr"] = words
                cur.execute(
                    "UPDATE stored_events SET state = ? WHERE rowid = ?",
                    (msgspec.json.encode(data), rowid),
                )
            return int(rowid)

        rowid = await asyncio.to_thread(corrupt)
    async with campaign_service(None, sqlite) as service:
        other = ok(await service.send(create("acc_b"))).campaign
        assert other is not None

        async def relayed_b() -> bool:
            subject = subjects.campaign_event_subject(other.campaign_id, "CampaignCreated")
            return bool(await read_stream(subject))

        await wait_for(relayed_b)
        parked = await service.store.tables.parked_events()
        assert [p.position for p in parked] == [rowid]
        assert parked[0].event_type.endswith("Campaign.Created")
        assert parked[0].reason.startswith("unreadable")


async def test_a_command_over_the_limits_sent_straight_over_nats_is_refused(
    campaign_service: Any, tmp_path: Path, client: Client, dialer_clock: Any
) -> None:
    async with campaign_service(None, tmp_path / "campaign.sqlite3", relay=False) as service:
        huge = create("acc_a", ivr=WordsIvr(lead_words=["слово" * 10] * 9_000))
        assert len(encode(huge)) < client.max_payload
        reply = await service.send(huge)
        assert isinstance(reply, CommandError), reply
        assert reply.code == "validation"
        assert [d.field for d in reply.details] == ["ivr.lead_words"]
        assert service.store.app.max_position() == 0
        ok(await service.send(create("acc_b")))
