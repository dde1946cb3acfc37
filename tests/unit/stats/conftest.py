"""A story-teller for the stats projections: events built from the contracts, fed in
batches to the real projection code over a throw-away SQLite file (no server)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from zvonar_contracts import campaign_events as ev
from zvonar_contracts.call_events import CallCompleted, Outcome, call_id_of
from zvonar_contracts.codec import encode
from zvonar_contracts.options import (
    CampaignOptions,
    PhoneBaseRef,
    SmartOptions,
    TtsAudio,
)
from zvonar_contracts.queries import CampaignView
from zvonar_runtime.db import Cursor, Database
from zvonar_stats.adapters import read_model
from zvonar_stats.adapters.call_projection import apply_call_batch
from zvonar_stats.adapters.campaign_projection import apply_campaign_batch
from zvonar_stats.adapters.schema import active_tables, ensure_schema
from zvonar_stats.domain.envelope import Envelope

T0 = dt.datetime(2026, 6, 17, 9, 0, tzinfo=dt.UTC)
ACCOUNT = "acc_1"


def options(name: str = "Акция июнь", **changes: Any) -> CampaignOptions:
    return CampaignOptions(name=name, audio=TtsAudio(text="Здравствуйте"), **changes)


def created(
    campaign_id: int,
    *,
    count: int = 10,
    account: str = ACCOUNT,
    at: dt.datetime = T0,
    smart_parts: int | None = None,
    **option_changes: Any,
) -> ev.CampaignCreated:
    if smart_parts is not None:
        option_changes["smart"] = SmartOptions(parts=smart_parts, delay_minutes=0)
    return ev.CampaignCreated(
        campaign_id=campaign_id,
        account_id=account,
        at=at,
        options=options(**option_changes),
        phones=PhoneBaseRef(bucket="phone-bases", name="x", count=count, sha256="x"),
        account_tz="Europe/Moscow",
    )


def event(kind: type, campaign_id: int, account: str = ACCOUNT, **fields: Any) -> Any:
    fields.setdefault("at", T0)
    return kind(campaign_id=campaign_id, account_id=account, **fields)


def call(
    campaign_id: int,
    phone: str,
    outcome: Outcome = "answered",
    *,
    attempt: int = 1,
    part: int = 0,
    final: bool = True,
    lead: bool = False,
    cost: str = "0.00",
    account: str = ACCOUNT,
) -> CallCompleted:
    return CallCompleted(
        campaign_id=campaign_id,
        account_id=account,
        at=T0,
        call_id=call_id_of(campaign_id, part, phone, attempt),
        phone=phone,
        part=part,
        attempt=attempt,
        started_at=T0,
        outcome=outcome,
        duration_s=3.5,
        cost=Decimal(cost),
        lead=lead,
        final=final,
        answer_text="да" if lead else "",
    )


class Story:
    """Feeds both projections the way the consumers do, and reads the views back."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.campaign_seq = 0
        self.call_seq = 0

    def campaign(self, *events: Any) -> None:
        self.campaign_batch([self._next_campaign(e) for e in events])

    def campaign_batch(self, batch: list[Envelope]) -> None:
        self.db.run_sync(lambda cur: apply_campaign_batch(cur, active_tables(cur), batch))

    def _next_campaign(self, event: Any) -> Envelope:
        self.campaign_seq += 1
        return Envelope(seq=self.campaign_seq, data=encode(event), position=self.campaign_seq)

    def calls(self, *calls: CallCompleted) -> list[Envelope]:
        batch = []
        for item in calls:
            self.call_seq += 1
            batch.append(Envelope(seq=self.call_seq, data=encode(item)))
        self.call_batch(batch)
        return batch

    def call_batch(self, batch: list[Envelope]) -> None:
        self.db.run_sync(lambda cur: apply_call_batch(cur, active_tables(cur), batch))

    def view(self, campaign_id: int, account: str | None = ACCOUNT) -> CampaignView:
        found = self.db.run_sync(lambda cur: read_model.get_campaign(cur, campaign_id, account))
        assert found is not None, f"campaign {campaign_id} not found"
        return found[0]

    def detail(self, campaign_id: int) -> Any:
        return self.db.run_sync(lambda cur: read_model.get_campaign(cur, campaign_id, None))

    def ids(self, **filters: Any) -> list[int]:
        filters.setdefault("account_id", ACCOUNT)
        where = read_model.ListFilter(**filters)
        items, total = self.db.run_sync(
            lambda cur: read_model.list_campaigns(cur, where, offset=0, limit=1000)
        )
        assert total == len(items)
        return [item.id for item in items]

    def query(self, work: Any) -> Any:
        return self.db.run_sync(work)

    def tables(self, cur: Cursor) -> Any:
        return active_tables(cur)


@pytest.fixture
def story(tmp_path: Path) -> Iterator[Story]:
    db = Database.from_settings(None, tmp_path / "stats.sqlite3", "stats")
    db.run_sync(ensure_schema)
    yield Story(db)
    db.close()


class Builders:
    """The event builders above, handed to tests as a fixture (tests cannot import a
    conftest under --import-mode=importlib)."""

    T0 = T0
    ACCOUNT = ACCOUNT
    created = staticmethod(created)
    event = staticmethod(event)
    call = staticmethod(call)
    options = staticmethod(options)


@pytest.fixture
def mk() -> Builders:
    return Builders()
