"""The stats service's settings, read once from the environment."""

from __future__ import annotations

import os
import socket

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
    # The call stream's partitions (by a hash of the campaign id), each with its own
    # checkpoint and durable consumer; instances share them and the campaign stream by lease.
    # One by default: on nats-server < 2.10 every partition's consumer reads the whole call
    # stream (~35 us of CPU per event per extra partition held), so set it to the number of
    # stats instances you run (docs/scaling.md, Stats).
    partitions: int = Field(1, ge=1, le=256, validation_alias=env("STATS_PARTITIONS"))
    # A lease not renewed for this long frees its unit for another instance.
    lease_seconds: float = Field(10.0, gt=0, validation_alias=env("STATS_LEASE_SECONDS"))
    lease_bucket: str = Field("stats-leases", validation_alias=env("STATS_LEASE_BUCKET"))
    # This instance's name on its leases (default <hostname>-<pid>).
    stats_instance_id: str = Field("", validation_alias=env("STATS_INSTANCE_ID"))
    # Whether this instance takes part in the projection (holds leases); one that does not
    # only answers queries, from the store the others fill.
    project: bool = Field(True, validation_alias=env("STATS_PROJECT"))
    # PostgreSQL schema of the read models (SQLite: the file's name).
    db_schema: str = Field("stats", validation_alias=env("STATS_DB_SCHEMA"))

    @property
    def owner(self) -> str:
        return self.stats_instance_id or f"{socket.gethostname()}-{os.getpid()}"

    def partition_durable(self, index: int) -> str:
        """A call partition's durable consumer (its name carries the count: a partitioning
        of another count starts consumers of its own)."""
        return f"{self.call_durable}-p{index}of{self.partitions}"

    def database(self) -> Database:
        """SQLite <data_dir>/stats.sqlite3, or the `stats` schema when DATABASE_URL is set."""
        return Database.from_settings(
            self.database_url, self.sqlite_path(self.db_schema), self.db_schema
        )
