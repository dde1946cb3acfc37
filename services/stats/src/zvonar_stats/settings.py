"""The stats service's settings, read once from the environment."""

from __future__ import annotations

from pydantic import Field

from zvonar_contracts import subjects
from zvonar_runtime.db import Database
from zvonar_runtime.settings import ServiceSettings, env


class StatsSettings(ServiceSettings):
    service: str = "stats"
    # Messages fetched and applied in one transaction.
    batch_size: int = Field(500, validation_alias=env("STATS_BATCH_SIZE"))
    # The agreed durable names; a test or a side-by-side replay may use its own.
    campaign_durable: str = Field(
        subjects.STATS_CAMPAIGN_CONSUMER, validation_alias=env("STATS_CAMPAIGN_DURABLE")
    )
    call_durable: str = Field(
        subjects.STATS_CALL_CONSUMER, validation_alias=env("STATS_CALL_DURABLE")
    )
    # PostgreSQL schema of the read models (SQLite: the file's name).
    db_schema: str = Field("stats", validation_alias=env("STATS_DB_SCHEMA"))

    def database(self) -> Database:
        """SQLite <data_dir>/stats.sqlite3, or the `stats` schema when DATABASE_URL is set."""
        return Database.from_settings(
            self.database_url, self.sqlite_path(self.db_schema), self.db_schema
        )
