"""The decisions store on SQLite and on PostgreSQL (its own schema): a campaign is recorded
once, whatever is recorded for it later."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from zvonar_moderation.adapters.decisions import SqlDecisionStore
from zvonar_moderation.domain.verdict import Verdict
from zvonar_runtime.db import Database

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlDecisionStore]:
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        db = Database.from_settings(url, tmp_path / "unused.sqlite3", schema="moderation")
    else:
        db = Database.from_settings(None, tmp_path / "moderation.sqlite3", schema="moderation")
    decisions = SqlDecisionStore(db)
    await decisions.create_schema()
    await decisions.create_schema()  # start-up twice is harmless
    yield decisions
    await db.aclose()


async def test_a_campaign_is_decided_once(store: SqlDecisionStore) -> None:
    assert not await store.is_decided(1000001)
    await store.record(
        1000001, Verdict(decision="rejected", reason="казино", topic="gambling"), "decided"
    )
    await store.record(1000001, Verdict(decision="accepted"), "already_decided")
    assert await store.is_decided(1000001)
    assert not await store.is_decided(1000002)

    def rows(cur):  # type: ignore[no-untyped-def]
        cur.execute("SELECT decision, outcome FROM moderation_decisions")
        return [tuple(row) for row in cur.fetchall()]

    assert await store.db.run(rows) == [("rejected", "decided")]
