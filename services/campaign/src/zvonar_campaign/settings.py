"""Settings of the campaign service, read once from the environment at start-up."""

from __future__ import annotations

import os
import socket

from pydantic import Field

from zvonar_runtime.settings import ServiceSettings, env


class CampaignSettings(ServiceSettings):
    service: str = "campaign"
    # Run the relay in this process (CAMPAIGN_RELAY=0 when a separate `relay` process runs it).
    relay: bool = Field(True, validation_alias=env("CAMPAIGN_RELAY"))
    # Answer commands in this process (`zvonar-campaign relay` turns this off).
    commands: bool = Field(True, validation_alias=env("CAMPAIGN_COMMANDS"))
    command_workers: int = Field(8, validation_alias=env("CAMPAIGN_COMMAND_WORKERS"))
    # eventsourcing's PostgreSQL pool (and as many overflow connections).
    pg_pool_size: int = Field(4, validation_alias=env("CAMPAIGN_PG_POOL_SIZE"))
    relay_poll_interval: float = Field(0.05, validation_alias=env("CAMPAIGN_RELAY_POLL_INTERVAL"))
    relay_batch_size: int = Field(200, validation_alias=env("CAMPAIGN_RELAY_BATCH_SIZE"))
    # Fault-injection aid for tests: seconds between a batch's publish and its record.
    relay_record_delay: float = Field(0.0, validation_alias=env("CAMPAIGN_RELAY_RECORD_DELAY"))
    # The relay lease (adapters/relay_lease.py): this relay's id in it, and how long a lease
    # lives after its last renewal (a standby takes over at most this long after a crash).
    relay_instance_id: str = Field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}",
        validation_alias=env("CAMPAIGN_RELAY_INSTANCE_ID"),
    )
    relay_lease_ttl: float = Field(3.0, gt=0, validation_alias=env("CAMPAIGN_RELAY_LEASE_TTL"))
