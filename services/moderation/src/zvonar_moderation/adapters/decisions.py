"""The service's own store of the campaigns it has already decided, so a redelivered
CampaignCreated never sends a second decision (SQLite by default, PostgreSQL schema
`moderation` when DATABASE_URL is set)."""

from __future__ import annotations

from zvonar_moderation.adapters.table import SqlTable
from zvonar_moderation.domain.verdict import Verdict
from zvonar_runtime.db import Cursor


class SqlDecisionStore(SqlTable):
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
    TABLE = "moderation_decisions"
    COLUMNS = ("campaign_id", "decision", "reason", "topic", "outcome", "decided_at")
    KEY = "campaign_id"

    async def is_decided(self, campaign_id: int) -> bool:
        def find(cur: Cursor) -> bool:
            cur.execute("SELECT 1 FROM moderation_decisions WHERE campaign_id = ?", (campaign_id,))
            return cur.fetchone() is not None

        return await self.db.run(find)

    async def record(self, campaign_id: int, verdict: Verdict, outcome: str) -> None:
        await self.insert_stamped(
            (campaign_id, verdict.decision, verdict.reason, verdict.topic, outcome)
        )
