"""Messages the consumer set aside (undecodable, or failing delivery after delivery), kept
in the service's own database for an operator: `moderation_parked`."""

from __future__ import annotations

import datetime as dt

from zvonar_runtime.consumer import Parked
from zvonar_runtime.db import Cursor, Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS moderation_parked (
    stream TEXT NOT NULL,
    seq BIGINT NOT NULL,
    subject TEXT NOT NULL,
    reason TEXT NOT NULL,
    error TEXT NOT NULL,
    correlation_id TEXT,
    parked_at TEXT NOT NULL,
    PRIMARY KEY (stream, seq)
)
"""


class SqlParkedMessages:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create_schema(self) -> None:
        def create(cur: Cursor) -> None:
            cur.execute(SCHEMA)

        await self.db.run(create)

    async def park(self, parked: Parked) -> None:
        message = parked.message
        row = (
            parked.stream,
            message.stream_seq,
            message.subject,
            parked.reason,
            parked.error,
            message.correlation_id,
            dt.datetime.now(dt.UTC).isoformat(),
        )

        def insert(cur: Cursor) -> None:
            cur.execute(
                "INSERT INTO moderation_parked"
                " (stream, seq, subject, reason, error, correlation_id, parked_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (stream, seq) DO NOTHING",
                row,
            )

        await self.db.run(insert)

    async def all(self) -> list[tuple[str, int, str, str]]:
        """(stream, seq, subject, reason) of every parked message, oldest first."""

        def select(cur: Cursor) -> list[tuple[str, int, str, str]]:
            cur.execute(
                "SELECT stream, seq, subject, reason FROM moderation_parked ORDER BY stream, seq"
            )
            return [(r[0], int(r[1]), r[2], r[3]) for r in cur.fetchall()]

        return await self.db.run(select)
