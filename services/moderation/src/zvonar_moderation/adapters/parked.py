"""Messages the consumer set aside (undecodable, or failing delivery after delivery), kept
in the service's own database for an operator: `moderation_parked`."""

from __future__ import annotations

from zvonar_moderation.adapters.table import SqlTable
from zvonar_runtime.consumer import Parked
from zvonar_runtime.db import Cursor


class SqlParkedMessages(SqlTable):
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
    TABLE = "moderation_parked"
    COLUMNS = ("stream", "seq", "subject", "reason", "error", "correlation_id", "parked_at")
    KEY = "stream, seq"

    async def park(self, parked: Parked) -> None:
        message = parked.message
        await self.insert_stamped(
            (
                parked.stream,
                message.stream_seq,
                message.subject,
                parked.reason,
                parked.error,
                message.correlation_id,
            )
        )

    async def all(self) -> list[tuple[str, int, str, str]]:
        """(stream, seq, subject, reason) of every parked message, oldest first."""

        def select(cur: Cursor) -> list[tuple[str, int, str, str]]:
            cur.execute(
                "SELECT stream, seq, subject, reason FROM moderation_parked ORDER BY stream, seq"
            )
            return [(r[0], int(r[1]), r[2], r[3]) for r in cur.fetchall()]

        return await self.db.run(select)
