"""The create hot path (issue 17). The create is answered from the campaign service's reply:
the view the gateway builds must be the one stats shows once it has applied the
CampaignCreated, checked against the real stats projection and read model (SQLite). A few
JSON numbers are normalised without a thread hop."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import msgspec
import pytest

from zvonar_contracts import campaign_events as ev
from zvonar_contracts.codec import decode_command_reply, encode
from zvonar_contracts.commands import CampaignState, CommandOk, CreateCampaign
from zvonar_contracts.options import (
    CallerIdRouting,
    CallingWindow,
    CampaignOptions,
    FileAudio,
    Integration,
    PhoneBaseRef,
    SmartOptions,
    Status,
    TtsAudio,
    WordsIvr,
)
from zvonar_gateway.service_layer import campaigns
from zvonar_gateway.service_layer.campaigns import new_campaign_view
from zvonar_runtime.db import Database
from zvonar_stats.adapters import read_model
from zvonar_stats.adapters.campaign_projection import apply_campaign_batch
from zvonar_stats.adapters.schema import active_tables, ensure_schema
from zvonar_stats.domain.envelope import Envelope

ACCOUNT = "acc_1"
# Microseconds and a zone other than UTC: the reply's moment must read as stats reads it.
CREATED_AT = dt.datetime(2026, 6, 17, 12, 0, 1, 123456, tzinfo=dt.timezone(dt.timedelta(hours=3)))

OPTIONS: dict[str, CampaignOptions] = {
    "plain": CampaignOptions(name="Акция", audio=TtsAudio(text="Здравствуйте")),
    "everything": CampaignOptions(
        name="Всё сразу",
        audio=FileAudio(file_id="f1", name="a.wav"),
        speed=120,
        start_at=dt.datetime(2099, 1, 1, tzinfo=dt.UTC),
        routing=CallerIdRouting(number="+74951234567"),
        ivr=WordsIvr(lead_words=["да"]),
        smart=SmartOptions(parts=3, delay_minutes=10),
        record=True,
        window=CallingWindow(days=["mon", "tue"], from_="09:00", to="21:00"),
        integration=Integration(webhook_url="https://example.com/hook", secret_ref="s1"),
        amd=True,
        comment="для проверки",
    ),
}


def command(options: CampaignOptions, count: int = 10) -> CreateCampaign:
    phones = PhoneBaseRef(bucket="phone-bases", name="b", count=count, sha256="b")
    return CreateCampaign(
        account_id=ACCOUNT, account_tz="Europe/Moscow", options=options, phones=phones
    )


def reply(**state: Any) -> CommandOk:
    fields: dict[str, Any] = {
        "campaign_id": 1000001,
        "account_id": ACCOUNT,
        "status": Status.MODERATION,
        "created_at": CREATED_AT,
    }
    fields.update(state)
    return CommandOk(position=7, campaign=CampaignState(**fields))


def stats_view(tmp_path: Path, create: CreateCampaign, ok: CommandOk) -> Any:
    """What stats shows after applying the CampaignCreated the campaign service stored."""
    assert ok.campaign is not None and ok.campaign.created_at is not None
    event = ev.CampaignCreated(
        campaign_id=ok.campaign.campaign_id,
        account_id=ACCOUNT,
        at=ok.campaign.created_at,
        options=create.options,
        phones=create.phones,
        account_tz=create.account_tz,
    )
    db = Database.from_settings(None, tmp_path / "stats.sqlite3", "stats")
    try:
        db.run_sync(ensure_schema)
        batch = [Envelope(seq=1, data=encode(event), position=ok.position)]
        db.run_sync(lambda cur: apply_campaign_batch(cur, active_tables(cur), batch))
        found = db.run_sync(lambda cur: read_model.get_campaign(cur, event.campaign_id, ACCOUNT))
    finally:
        db.close()
    assert found is not None
    return found[0]


@pytest.mark.parametrize("shape", sorted(OPTIONS))
def test_the_answer_is_the_view_stats_shows(tmp_path: Path, shape: str) -> None:
    create = command(OPTIONS[shape])
    # Through the wire, as the gateway receives it.
    ok = decode_command_reply(encode(reply()))
    assert isinstance(ok, CommandOk)
    built = new_campaign_view(create, ok)
    assert built is not None
    shown = stats_view(tmp_path, create, ok)
    assert built == shown
    # and rendered alike (Decimal and datetime compare by value, the JSON by text)
    assert msgspec.json.encode(built) == msgspec.json.encode(shown)


@pytest.mark.parametrize(
    "state",
    [
        {"replayed": True},  # an Idempotency-Key replay: the campaign may have moved on
        {"created_at": None},  # a campaign service that does not tell
        {"status": Status.ACCEPTED},  # not what a new campaign's row starts as
    ],
)
def test_stats_is_asked_when_the_reply_does_not_tell_enough(state: dict[str, Any]) -> None:
    assert new_campaign_view(command(OPTIONS["plain"]), reply(**state)) is None


def test_a_reply_without_created_at_still_decodes() -> None:
    """A reply of a campaign service from before the field (kept readable)."""
    old = (
        b'{"result":"ok","position":3,'
        b'"campaign":{"campaign_id":5,"account_id":"a","status":"moderation"}}'
    )
    ok = decode_command_reply(old)
    assert isinstance(ok, CommandOk) and ok.campaign is not None
    assert ok.campaign.created_at is None


async def test_a_small_list_is_normalised_on_the_loop_a_big_one_in_a_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A thread hop costs more than normalising a few numbers (and the loop then waits for
    the GIL); a big list still leaves the loop free."""
    hops: list[int] = []
    real = asyncio.to_thread

    async def counted(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        hops.append(len(args[0]))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counted)
    small = [f"+7916000{i:04d}" for i in range(campaigns.INLINE_PHONES)]
    big = [f"+7916000{i:04d}" for i in range(campaigns.INLINE_PHONES + 1)]
    assert len((await campaigns.import_json_phones(small)).numbers) == len(small)
    assert hops == []
    assert len((await campaigns.import_json_phones(big)).numbers) == len(big)
    assert hops == [len(big)]
