"""The read models on SQLite or PostgreSQL (zvonar_runtime.db): the stats service layer's
ProjectionStore and ReadModel ports. Every call is one transaction that reads the active
generation first (see schema)."""

from __future__ import annotations

from collections.abc import Sequence

from zvonar_contracts.options import CampaignOptions
from zvonar_contracts.queries import CallRow, CampaignView, HistoryEntry, ReportKey
from zvonar_runtime.db import Cursor, Database
from zvonar_stats.adapters import read_model
from zvonar_stats.adapters.call_projection import apply_call_batch
from zvonar_stats.adapters.campaign_projection import apply_campaign_batch
from zvonar_stats.adapters.checkpoints import call_checkpoint, park, read_checkpoint
from zvonar_stats.adapters.schema import CAMPAIGN_STREAM_KEY, active_tables, ensure_schema
from zvonar_stats.domain.checkpoint import Checkpoint
from zvonar_stats.domain.envelope import Envelope
from zvonar_stats.domain.listing import ListFilter


class SqlStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- ProjectionStore -------------------------------------------------------------------
    async def open(self) -> None:
        await self.db.run(ensure_schema)

    async def applied_position(self) -> int:
        return await self.db.run(read_model.applied_position)

    async def apply_campaign_events(self, batch: Sequence[Envelope]) -> Checkpoint:
        def work(cur: Cursor) -> Checkpoint:
            return apply_campaign_batch(cur, active_tables(cur, lock="share"), batch)

        return await self.db.run(work)

    async def apply_call_events(
        self, batch: Sequence[Envelope], *, key: str, through: int
    ) -> Checkpoint:
        def work(cur: Cursor) -> Checkpoint:
            t = active_tables(cur, lock="share")
            return apply_call_batch(cur, t, batch, key=key, through=through)

        return await self.db.run(work)

    async def checkpoint(self, key: str) -> int:
        def read(cur: Cursor) -> int:
            t = active_tables(cur)
            if key == CAMPAIGN_STREAM_KEY:
                return read_checkpoint(cur, t, key).seq
            return call_checkpoint(cur, t, key).seq

        return await self.db.run(read)

    async def park(self, stream: str, key: str, envelope: Envelope, error: str) -> bool:
        def work(cur: Cursor) -> bool:
            return park(cur, active_tables(cur, lock="share"), stream, envelope, error, key)

        return await self.db.run(work)

    def is_transient(self, exc: BaseException) -> bool:
        return self.db.is_transient(exc)

    # --- ReadModel -------------------------------------------------------------------------
    async def list_campaigns(
        self, where: ListFilter, *, offset: int, limit: int, oldest_first: bool = False
    ) -> tuple[list[CampaignView], int]:
        return await self.db.run(
            lambda cur: read_model.list_campaigns(
                cur, where, offset=offset, limit=limit, oldest_first=oldest_first
            )
        )

    async def get_campaign(
        self, campaign_id: int, account_id: str | None
    ) -> tuple[CampaignView, CampaignOptions, list[HistoryEntry]] | None:
        return await self.db.run(lambda cur: read_model.get_campaign(cur, campaign_id, account_id))

    async def report(
        self, campaign_id: int, account_id: str, *, offset: int, limit: int
    ) -> tuple[CampaignView, list[CallRow], int] | None:
        return await self.db.run(
            lambda cur: read_model.report(cur, campaign_id, account_id, offset=offset, limit=limit)
        )

    async def report_rows(
        self, campaign_id: int, account_id: str, *, after: ReportKey | None, limit: int
    ) -> tuple[CampaignView, list[tuple[ReportKey, CallRow]]] | None:
        return await self.db.run(
            lambda cur: read_model.report_rows(
                cur, campaign_id, account_id, after=after, limit=limit
            )
        )

    async def stop_list(self, account_id: str, *, offset: int, limit: int) -> tuple[list[str], int]:
        return await self.db.run(
            lambda cur: read_model.stop_list(cur, account_id, offset=offset, limit=limit)
        )
