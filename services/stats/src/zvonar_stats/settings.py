"""The stats service's settings, read once from the environment."""

from __future__ import annotations

from typing import ClassVar

from zvonar_contracts import subjects
from zvonar_runtime.db import Database
from zvonar_runtime.settings import ServiceSettings


class StatsSettings(ServiceSettings, frozen=True, kw_only=True):
    service: str = "stats"
    # Messages fetched and applied in one transaction.
    batch_size: int = 500
    # The agreed durable names; a test or a side-by-side replay may use its own.
    campaign_durable: str = subjects.STATS_CAMPAIGN_CONSUMER
    call_durable: str = subjects.STATS_CALL_CONSUMER
    # PostgreSQL schema of the read models (SQLite: the file's name).
    db_schema: str = "stats"

    ENV: ClassVar[dict[str, str]] = {
        "batch_size": "STATS_BATCH_SIZE",
        "campaign_durable": "STATS_CAMPAIGN_DURABLE",
        "call_durable": "STATS_CALL_DURABLE",
        "db_schema": "STATS_DB_SCHEMA",
    }

    def database(self) -> Database:
        """SQLite <data_dir>/stats.sqlite3, or the `stats` schema when DATABASE_URL is set."""
        return Database.from_settings(
            self.database_url, self.sqlite_path(self.db_schema), self.db_schema
        )
