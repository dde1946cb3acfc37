"""Builders shared by the campaign unit tests (as fixtures): options, phone bases,
campaigns brought to any status through allowed moves, and a fresh SQLite store."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from zvonar_campaign.bootstrap import Store, open_store
from zvonar_campaign.domain.campaign import Campaign
from zvonar_contracts.options import (
    CallerIdRouting,
    CampaignOptions,
    PhoneBaseRef,
    SmartOptions,
    Status,
    TtsAudio,
)

NOW = dt.datetime(2026, 6, 17, 13, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=1)
PHONES = PhoneBaseRef(bucket="phone-bases", name="a" * 64, count=3, sha256="a" * 64)


def options(**changes: object) -> CampaignOptions:
    base: dict[str, object] = {
        "name": "Акция июнь",
        "audio": TtsAudio(text="Здравствуйте"),
        "start_at": LATER,
        "routing": CallerIdRouting(number="+79161234567"),
        "smart": SmartOptions(parts=3, delay_minutes=10),
    }
    base.update(changes)
    return CampaignOptions(**base)  # type: ignore[arg-type]


def new_campaign(number: int = 1_000_001, **changes: object) -> Campaign:
    return Campaign.new(
        campaign_id=number,
        account_id="acc_1",
        account_tz="Europe/Moscow",
        options=options(**changes),
        phones=PHONES,
        copied_from=None,
    )


def _then(campaign: Campaign, status: Status, move: Callable[[], None]) -> None:
    """Brings `campaign` to `status`, then makes one more move."""
    PATHS[status](campaign)
    move()


# How to bring a fresh campaign to each status, through allowed moves only.
PATHS: dict[Status, Callable[[Campaign], None]] = {
    Status.MODERATION: lambda c: None,
    Status.CLARIFICATION: lambda c: c.moderate("clarification", "rules", "", False),
    Status.ACCEPTED: lambda c: c.moderate("accepted", "rules", "", False),
    Status.SCHEDULED: lambda c: c.moderate("accepted", "rules", "", True),
    Status.IN_PROGRESS: lambda c: _then(c, Status.ACCEPTED, lambda: c.start(NOW)),
    Status.PAUSED: lambda c: _then(c, Status.IN_PROGRESS, lambda: c.pause("customer", "")),
    Status.PAUSED_WINDOW: lambda c: _then(
        c, Status.IN_PROGRESS, lambda: c.mark_out_of_window(LATER)
    ),
    Status.FINISHED: lambda c: _then(c, Status.IN_PROGRESS, c.finish),
    Status.STOPPED: lambda c: c.stop("customer", ""),
    Status.REJECTED: lambda c: c.moderate("rejected", "rules", "азартные игры", False),
    Status.ERROR: lambda c: c.fail("tts failed"),
}


def campaign_in(status: Status) -> Campaign:
    campaign = new_campaign()
    PATHS[status](campaign)
    assert campaign.status is status
    campaign.collect_events()
    return campaign


@pytest.fixture
def make_campaign() -> Callable[..., Campaign]:
    return new_campaign


@pytest.fixture
def campaign_at() -> Callable[[Status], Campaign]:
    return campaign_in


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh SQLite event store and tables of the service's own."""
    opened = await asyncio.to_thread(open_store, None, lambda: tmp_path / "campaign.sqlite3")
    yield opened
    opened.close()
