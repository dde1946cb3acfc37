"""The service's own store of the campaigns it has already decided, so a redelivered
CampaignCreated never sends a second decision (SQLite by default, PostgreSQL schema
`moderation` when DATABASE_URL is set)."""

from __future__ import annotations

import datetime as dt

from zvonar_moderation.domain.verdict import Verdict
from zvonar_runtime.db import Cursor, Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS moderation_decisions (
    campaign_id BIGINT PRIMARY KEY,
    decision TEXT NOT NULL,
    reason TEXT NOT NULL,
    topic TEXT,
    outcome TEXT NOT NULL,
    decided_at TEXT NOT NULL
)
"""


class SqlDecisionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create_schema(self) -> None:
        def create(cur: Cursor) -> None:
            cur.execute(SCHEMA)

        await self.db.run(create)

    async def is_decided(self, campaign_id: int) -> bool:
        def find(cur: Cursor) -> bool:
            cur.execute("SELECT 1 FROM moderation_decisions WHERE campaign_id = ?", (campaign_id,))
            return cur.fetchone() is not None

        return await self.db.run(find)

    async def record(self, campaign_id: int, verdict: Verdict, outcome: str) -> None:
        row = (
            campaign_id,
            verdict.decision,
            verdict.reason,
            verdict.topic,
            outcome,
            dt.datetime.now(dt.UTC).isoformat(),
        )

        def insert(cur: Cursor) -> None:
            cur.execute(
                "INSERT INTO moderation_decisions"
                " (campaign_id, decision, reason, topic, outcome, decided_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (campaign_id) DO NOTHING",
                row,
            )

        await self.db.run(insert)
