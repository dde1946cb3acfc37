"""The service layer on a real SQLite event store and a fixed dialer clock (no servers):
decisions by the dialer's clock, Idempotency-Key replays, numbers, snapshots, and a refused
command storing nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest
import stamina
from eventsourcing.persistence import IntegrityError

from zvonar_campaign.bootstrap import Store, bootstrap
from zvonar_campaign.domain.campaign import Campaign
from zvonar_campaign.domain.ids import FIRST_CAMPAIGN_ID, campaign_uuid
from zvonar_campaign.service_layer.errors import Conflict
from zvonar_campaign.service_layer.messagebus import handle
from zvonar_campaign.service_layer.unit import Deps
from zvonar_campaign.settings import CampaignSettings
from zvonar_contracts import commands as c
from zvonar_contracts.commands import CommandError, CommandOk
from zvonar_contracts.options import (
    CallingWindow,
    CampaignOptions,
    FileAudio,
    Integration,
    PhoneBaseRef,
    Status,
    TtsAudio,
    WordsIvr,
)
from zvonar_contracts.time_of_day import TIME_OF_DAY_MESSAGE

NOW = dt.datetime(2026, 6, 17, 10, 0, tzinfo=dt.UTC)
BIG_BASE = PhoneBaseRef(bucket="phone-bases", name="d" * 64, count=1_000_000, sha256="d" * 64)


@dataclass
class FixedClock:
    at: dt.datetime = NOW
    read: int = 0

    def now(self) -> dt.datetime:
        self.read += 1
        return self.at


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def deps(store: Store, clock: FixedClock) -> Deps:
    return bootstrap(CampaignSettings(relay=False), store=store, clock=clock).deps


def create(
    start_at: dt.datetime | None = None, key: str | None = None, request_hash: str = "h"
) -> c.CreateCampaign:
    options = CampaignOptions(name="Акция", audio=TtsAudio(text="Алло"), start_at=start_at)
    return c.CreateCampaign(
        account_id="acc_1",
        account_tz="Europe/Moscow",
        options=options,
        phones=BIG_BASE,
        idempotency_key=key,
        request_hash=request_hash,
    )


async def ok(command: Any, deps: Deps) -> CommandOk:
    reply = await handle(command, deps)
    assert isinstance(reply, CommandOk), reply
    return reply


async def test_numbers_start_at_1000001_and_increase(deps: Deps) -> None:
    first = await ok(create(), deps)
    second = await ok(create(), deps)
    assert first.campaign is not None and second.campaign is not None
    assert (first.campaign.campaign_id, second.campaign.campaign_id) == (
        FIRST_CAMPAIGN_ID,
        FIRST_CAMPAIGN_ID + 1,
    )


async def test_numbers_are_never_handed_out_twice_under_concurrency(store: Store) -> None:
    numbers = await asyncio.gather(
        *(asyncio.to_thread(store.tables.next_number_sync) for _ in range(40))
    )
    assert len(set(numbers)) == 40 and min(numbers) >= FIRST_CAMPAIGN_ID


async def test_acceptance_schedules_only_when_the_start_is_ahead_of_the_dialer_clock(
    deps: Deps, clock: FixedClock
) -> None:
    ahead = (await ok(create(NOW + dt.timedelta(hours=1)), deps)).campaign
    behind = (await ok(create(NOW - dt.timedelta(hours=1)), deps)).campaign
    assert ahead is not None and behind is not None
    for campaign, status in ((ahead, Status.SCHEDULED), (behind, Status.ACCEPTED)):
        accept = c.ModerateCampaign(
            account_id="acc_1",
            campaign_id=campaign.campaign_id,
            decision="accepted",
            decided_by="rules",
        )
        moderated = await ok(accept, deps)
        assert moderated.campaign is not None and moderated.campaign.status is status
    assert clock.read == 2


async def test_a_customer_resume_is_scheduled_while_the_start_is_ahead_else_in_progress(
    deps: Deps, clock: FixedClock
) -> None:
    campaign = (await ok(create(NOW + dt.timedelta(hours=1)), deps)).campaign
    assert campaign is not None
    n = campaign.campaign_id
    for command in (
        c.ModerateCampaign(
            account_id="acc_1", campaign_id=n, decision="accepted", decided_by="rules"
        ),
        c.StartCampaign(account_id="acc_1", campaign_id=n, started_at=NOW),
        c.PauseCampaign(campaign_id=n, account_id="acc_1"),
    ):
        await ok(command, deps)
    resumed = await ok(c.ResumeCampaign(campaign_id=n, account_id="acc_1"), deps)
    assert resumed.campaign is not None and resumed.campaign.status is Status.SCHEDULED

    clock.at = NOW + dt.timedelta(hours=1)  # the start time has come: no longer ahead
    await ok(c.PauseCampaign(campaign_id=n, account_id="acc_1"), deps)
    resumed = await ok(c.ResumeCampaign(campaign_id=n, account_id="acc_1"), deps)
    # The dialer moves it to paused_window after the event if its window is closed.
    assert resumed.campaign is not None and resumed.campaign.status is Status.IN_PROGRESS


async def test_a_customer_resume_of_a_running_campaign_is_refused_and_stores_nothing(
    deps: Deps,
) -> None:
    campaign = (await ok(create(), deps)).campaign
    assert campaign is not None
    before = deps.events.max_position()
    reply = await handle(
        c.ResumeCampaign(account_id="acc_1", campaign_id=campaign.campaign_id), deps
    )
    assert isinstance(reply, CommandError) and reply.code == "invalid_transition"
    assert deps.events.max_position() == before


async def test_an_idempotency_key_replays_the_first_campaign_and_creates_nothing(
    deps: Deps, store: Store
) -> None:
    first = await ok(create(key="k"), deps)
    replay = await ok(create(key="k"), deps)
    assert replay.campaign is not None and replay.campaign.replayed
    assert replay.campaign.campaign_id == first.campaign.campaign_id  # type: ignore[union-attr]
    assert store.app.max_position() == first.position
    conflict = await handle(create(key="k", request_hash="other"), deps)
    assert isinstance(conflict, CommandError) and conflict.code == "conflict"


async def test_a_key_reserved_by_a_request_that_died_before_storing_is_completed(
    deps: Deps, store: Store
) -> None:
    number = store.tables.next_number_sync()
    store.tables.reserve_key_sync("acc_1", "k", "h", number)  # then the process died
    reply = await ok(create(key="k"), deps)
    assert reply.campaign is not None and reply.campaign.campaign_id == number
    assert not reply.campaign.replayed


async def test_a_refused_command_stores_nothing(deps: Deps, store: Store) -> None:
    created = await ok(create(), deps)
    n = created.campaign.campaign_id  # type: ignore[union-attr]
    for command, code in (
        (c.FinishCampaign(account_id="acc_1", campaign_id=n), "invalid_transition"),
        (c.SetComment(account_id="acc_1", campaign_id=n, text="я" * 1001), "validation"),
        (c.PauseCampaign(campaign_id=n, account_id="acc_2"), "not_found"),
        (c.PauseCampaign(campaign_id=n, account_id=""), "validation"),
        (
            c.StartSmartPart(account_id="acc_1", campaign_id=n, part=1, phone_count=1),
            "invalid_transition",
        ),
    ):
        reply = await handle(command, deps)
        assert isinstance(reply, CommandError) and reply.code == code, command
    assert store.app.max_position() == created.position


async def test_a_million_number_base_stays_out_of_the_events(deps: Deps, store: Store) -> None:
    await ok(create(), deps)
    (created,) = store.app.recorder.select_notifications(start=None, limit=10)
    assert len(created.state) < 2_000  # the base travels as a reference only


async def test_a_long_history_is_loaded_from_a_snapshot(deps: Deps, store: Store) -> None:
    campaign = (await ok(create(), deps)).campaign
    assert campaign is not None
    n = campaign.campaign_id
    for i in range(60):
        await ok(c.SetComment(account_id="acc_1", campaign_id=n, text=f"#{i}"), deps)
    snapshots = list(store.app.snapshots.get(campaign_uuid(n)))  # type: ignore[union-attr]
    assert [s.originator_version for s in snapshots] == [50]
    loaded: Campaign = store.app.repository.get(campaign_uuid(n))
    assert (loaded.version, loaded.user_comment, loaded.phones) == (61, "#59", BIG_BASE)


async def test_stop_list_commands_need_an_account_and_valid_numbers(deps: Deps) -> None:
    added = await ok(c.AddToStopList(account_id="acc_1", phones=["+79161234567"]), deps)
    again = await ok(c.AddToStopList(account_id="acc_1", phones=["+79161234567"]), deps)
    assert again.position == added.position  # nothing new, nothing stored
    for command in (
        c.AddToStopList(account_id="", phones=["+79161234567"]),
        c.RemoveFromStopList(account_id="acc_1", phones=["abc"]),
    ):
        reply = await handle(command, deps)
        assert isinstance(reply, CommandError) and reply.code == "validation"


async def test_a_create_built_in_process_is_held_to_the_contract_limits(deps: Deps) -> None:
    """The campaign service checks the contract's declared lengths itself, not only when a
    command is decoded from the wire: nothing over them is ever stored."""
    over: list[tuple[dict[str, Any], str]] = [
        ({"name": "n" * 201}, "name"),
        ({"comment": "c" * 1001}, "comment"),
        ({"audio": TtsAudio(text="t" * 5001)}, "audio.text"),
        ({"ivr": WordsIvr(lead_words=["да"] * 21)}, "ivr.lead_words"),
        ({"ivr": WordsIvr(lead_words=["w" * 51])}, "ivr.lead_words[0]"),
        (
            {"integration": Integration(webhook_url="https://a.test/" + "u" * 2000)},
            "integration.webhook_url",
        ),
        (
            {"integration": Integration(webhook_url="https://a.test/", secret_ref="r" * 129)},
            "integration.secret_ref",
        ),
        ({"audio": FileAudio(file_id="f", name="n" * 256)}, "audio.name"),
    ]
    before = deps.events.max_position()
    for changes, named in over:
        options = msgspec.structs.replace(create().options, **changes)
        command = msgspec.structs.replace(create(), options=options)
        reply = await handle(command, deps)
        assert isinstance(reply, CommandError), named
        assert reply.code == "validation"
        assert [d.field for d in reply.details] == [named]
    assert (deps.events.max_position()) == before


async def test_a_window_time_is_checked_by_the_contracts_parser_with_its_message(
    deps: Deps,
) -> None:
    """HH:MM is read by zvonar_contracts.time_of_day: its message, the field named, nothing
    stored; 24:00 stays refused here as before."""
    before = deps.events.max_position()
    for window, named in (
        (CallingWindow(days=["mon"], from_="9:00", to="18:00"), "window.from"),
        (CallingWindow(days=["mon"], from_="09:00", to="24:00"), "window.to"),
        (CallingWindow(days=["mon"], from_="09:00", to="18:6O"), "window.to"),
    ):
        options = msgspec.structs.replace(create().options, window=window)
        reply = await handle(msgspec.structs.replace(create(), options=options), deps)
        assert isinstance(reply, CommandError) and reply.code == "validation", window
        assert [(d.field, d.message) for d in reply.details] == [(named, TIME_OF_DAY_MESSAGE)]
    assert deps.events.max_position() == before
    options = msgspec.structs.replace(
        create().options, window=CallingWindow(days=["mon"], from_="09:00", to="18:00")
    )
    await ok(msgspec.structs.replace(create(), options=options), deps)


def test_a_contended_change_is_decided_again_until_it_goes_through(deps: Deps) -> None:
    tries: list[int] = []

    def contended() -> str:
        tries.append(1)
        if len(tries) < 4:
            raise IntegrityError("another writer moved the campaign on")
        return "stored"

    assert deps.retrying(contended) == "stored"
    assert len(tries) == 4


def test_a_campaign_contended_for_ever_is_answered_conflict(deps: Deps) -> None:
    tries: list[int] = []

    def always() -> None:
        tries.append(1)
        raise IntegrityError("another writer moved the campaign on")

    # stamina's test mode: no waiting, at most 5 attempts instead of RETRY_SECONDS' worth.
    with stamina.set_testing(True, attempts=5), pytest.raises(Conflict, match="too fast"):
        deps.retrying(always)
    assert len(tries) == 5
    tries.clear()

    def broken() -> None:
        tries.append(1)
        raise ValueError("not a conflict")

    with pytest.raises(ValueError, match="not a conflict"):
        deps.retrying(broken)
    assert tries == [1]  # anything else is not retried
