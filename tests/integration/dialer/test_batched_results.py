"""Results are written in batches: each number's result (and its outbox row, and its webhook
post) exactly once, even when two transactions record overlapping bursts at the same time —
on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from zvonar_contracts.call_events import CallCompleted, call_id_of
from zvonar_contracts.options import CampaignOptions, Integration, PhoneBaseRef, TtsAudio
from zvonar_dialer.adapters import schema, store
from zvonar_dialer.adapters.store import SqlTransactions
from zvonar_dialer.domain.campaign import Campaign
from zvonar_dialer.service_layer.dialling import record_results
from zvonar_dialer.service_layer.ports import Number, PlacedCall
from zvonar_runtime.db import Cursor, Database

pytestmark = pytest.mark.integration
CAMPAIGN = 1000001
AT = dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC)
HOOKED = Campaign(
    campaign_id=CAMPAIGN,
    account_id="acc",
    account_tz="UTC",
    options=CampaignOptions(
        name="t",
        audio=TtsAudio(text="Добрый день"),
        integration=Integration(webhook_url="https://hooks.example.com/calls", secret_ref="r1"),
    ),
    phones=PhoneBaseRef(bucket="phone-bases", name="p", count=400, sha256="p"),
)


@pytest.fixture(params=["sqlite", "postgres"])
def db(
    request: pytest.FixtureRequest, tmp_path: Path, pg_database_factory: Callable[[], str]
) -> Iterator[Database]:
    url = pg_database_factory() if request.param == "postgres" else None
    database = Database.from_settings(url, tmp_path / "dialer.sqlite3", "dialer", workers=4)
    database.run_sync(schema.create_schema)
    yield database
    database.close()


def phone(seq: int) -> str:
    return f"+7916{seq:07d}"


def placed(seq: int) -> PlacedCall:
    call_id = call_id_of(CAMPAIGN, 0, phone(seq), 1)
    return PlacedCall(CAMPAIGN, 0, seq, phone(seq), call_id, AT, None)


def event(call: PlacedCall) -> CallCompleted:
    return CallCompleted(
        campaign_id=CAMPAIGN,
        account_id="acc",
        at=AT,
        call_id=call.call_id,
        phone=call.phone,
        part=0,
        attempt=1,
        started_at=AT,
        outcome="no_answer",
    )


def seed(cur: Cursor) -> None:
    numbers = [Number(seq, phone(seq), "Europe/Moscow") for seq in range(400)]
    store.insert_numbers(cur, CAMPAIGN, 0, numbers)
    store.mark_placing(cur, [placed(seq) for seq in range(400)])


def counts(cur: Cursor) -> tuple[int, int, int, int]:
    done = cur.execute("SELECT COUNT(*) FROM numbers WHERE state = 'done'").fetchone()[0]
    placing = cur.execute("SELECT COUNT(*) FROM numbers WHERE state = 'placing'").fetchone()[0]
    outbox = cur.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    hooks = cur.execute(
        "SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'"
    ).fetchone()[0]
    return int(done), int(placing), int(outbox), int(hooks)


async def test_overlapping_bursts_write_each_result_once(db: Database) -> None:
    await db.run(seed)
    assert await db.run(counts) == (0, 400, 0, 0)
    bursts = [[placed(seq) for seq in range(start, start + 200)] for start in (0, 100, 200, 50)]
    fresh = await asyncio.gather(
        *(
            SqlTransactions(db).run(record_results(HOOKED, [(c, event(c)) for c in burst]))
            for burst in bursts
        )
    )
    written = [e.call_id for batch in fresh for e in batch]
    assert len(written) == len(set(written)) == 400
    assert await db.run(counts) == (400, 0, 400, 400)
    # A replay of the whole part writes nothing more.
    again = await SqlTransactions(db).run(
        record_results(HOOKED, [(placed(s), event(placed(s))) for s in range(400)])
    )
    assert again == []
    assert await db.run(counts) == (400, 0, 400, 400)
