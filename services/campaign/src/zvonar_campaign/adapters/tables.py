"""The campaign service's own tables beside the event store: campaign numbers, Idempotency
keys, the relay's position and the events it parked. Same database (SQLite file or
PostgreSQL schema `campaign`).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import msgspec

from zvonar_campaign.domain.ids import FIRST_CAMPAIGN_ID
from zvonar_campaign.service_layer.ports import IdempotencyKey
from zvonar_runtime.db import Cursor, Database

IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60
RELAY = "relay"

_COMMON = (
    """CREATE TABLE IF NOT EXISTS idempotency_keys (
        account_id TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        campaign_id BIGINT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (account_id, idempotency_key))""",
    """CREATE TABLE IF NOT EXISTS relay_tracking (
        name TEXT PRIMARY KEY,
        position BIGINT NOT NULL)""",
    # A stored event the relay could not publish (too large for NATS, unreadable): skipped,
    # and kept here for an operator, with why and when (UTC, ISO 8601).
    """CREATE TABLE IF NOT EXISTS relay_parked (
        position BIGINT PRIMARY KEY,
        event_type TEXT NOT NULL,
        size BIGINT NOT NULL,
        reason TEXT NOT NULL,
        parked_at TEXT NOT NULL)""",
)
_SQLITE = (
    """CREATE TABLE IF NOT EXISTS campaign_numbers (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL)""",
    f"INSERT OR IGNORE INTO campaign_numbers VALUES ('campaign', {FIRST_CAMPAIGN_ID - 1})",
)
# A sequence never hands out a number twice, whatever the number of instances.
_POSTGRES = (f"CREATE SEQUENCE IF NOT EXISTS campaign_number START WITH {FIRST_CAMPAIGN_ID}",)


class ParkedEvent(msgspec.Struct, frozen=True):
    position: int
    event_type: str
    size: int
    reason: str
    parked_at: str


class Tables:
    """Implements the service layer's `CampaignTables` port, and the relay's rows."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create_sync(self) -> None:
        extra = _POSTGRES if self.db.dialect == "postgres" else _SQLITE

        def work(cur: Cursor) -> None:
            for statement in (*_COMMON, *extra):
                cur.execute(statement)

        self.db.run_sync(work)

    # --- numbers ---------------------------------------------------------------------------
    def next_number_sync(self) -> int:
        if self.db.dialect == "postgres":
            return int(self.db.run_sync(_one("SELECT nextval('campaign_number')")))
        sql = (
            "UPDATE campaign_numbers SET value = value + 1 WHERE name = 'campaign' RETURNING value"
        )
        return int(self.db.run_sync(_one(sql)))

    # --- idempotency -----------------------------------------------------------------------
    def find_key_sync(self, account_id: str, key: str) -> IdempotencyKey | None:
        def work(cur: Cursor) -> IdempotencyKey | None:
            cur.execute(
                "SELECT campaign_id, request_hash, created_at FROM idempotency_keys "
                "WHERE account_id = ? AND idempotency_key = ?",
                (account_id, key),
            )
            row = cur.fetchone()
            if row is None or row[2] < time.time() - IDEMPOTENCY_TTL_SECONDS:
                return None
            return IdempotencyKey(int(row[0]), row[1], fresh=False)

        return self.db.run_sync(work)

    def reserve_key_sync(
        self, account_id: str, key: str, request_hash: str, campaign_id: int
    ) -> IdempotencyKey:
        """Claims the key for `campaign_id`, or returns who holds it (a concurrent twin)."""

        def work(cur: Cursor) -> IdempotencyKey:
            now = time.time()
            # An expired key may be taken again.
            cur.execute(
                "DELETE FROM idempotency_keys WHERE account_id = ? AND idempotency_key = ? "
                "AND created_at < ?",
                (account_id, key, now - IDEMPOTENCY_TTL_SECONDS),
            )
            cur.execute(
                "INSERT INTO idempotency_keys VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (account_id, idempotency_key) DO NOTHING",
                (account_id, key, request_hash, campaign_id, now),
            )
            if cur.rowcount == 1:
                return IdempotencyKey(campaign_id, request_hash, fresh=True)
            cur.execute(
                "SELECT campaign_id, request_hash FROM idempotency_keys "
                "WHERE account_id = ? AND idempotency_key = ?",
                (account_id, key),
            )
            row = cur.fetchone()
            return IdempotencyKey(int(row[0]), row[1], fresh=False)

        return self.db.run_sync(work)

    # --- relay tracking --------------------------------------------------------------------
    async def relay_position(self, name: str = RELAY) -> int:
        def work(cur: Cursor) -> int:
            cur.execute("SELECT position FROM relay_tracking WHERE name = ?", (name,))
            row = cur.fetchone()
            return int(row[0]) if row else 0

        return await self.db.run(work)

    async def record_relay_position(self, position: int, name: str = RELAY) -> None:
        def work(cur: Cursor) -> None:
            cur.execute(
                # Forward only: a relay that lost its lease mid-batch records late.
                "INSERT INTO relay_tracking VALUES (?, ?) ON CONFLICT (name) "
                "DO UPDATE SET position = excluded.position "
                "WHERE relay_tracking.position < excluded.position",
                (name, position),
            )

        await self.db.run(work)

    # --- parked events ---------------------------------------------------------------------
    async def park_event(self, position: int, event_type: str, size: int, reason: str) -> bool:
        """Records a stored event the relay skips; False if it was parked already."""

        def work(cur: Cursor) -> bool:
            cur.execute(
                "INSERT INTO relay_parked VALUES (?, ?, ?, ?, ?) ON CONFLICT (position) DO NOTHING",
                (position, event_type, size, reason, dt.datetime.now(dt.UTC).isoformat()),
            )
            return bool(cur.rowcount == 1)

        return await self.db.run(work)

    async def parked_events(self) -> list[ParkedEvent]:
        def work(cur: Cursor) -> list[ParkedEvent]:
            cur.execute(
                "SELECT position, event_type, size, reason, parked_at FROM relay_parked "
                "ORDER BY position"
            )
            return [ParkedEvent(int(r[0]), r[1], int(r[2]), r[3], r[4]) for r in cur.fetchall()]

        return await self.db.run(work)


def _one(sql: str) -> Any:
    def work(cur: Cursor) -> Any:
        cur.execute(sql)
        return cur.fetchone()[0]

    return work
