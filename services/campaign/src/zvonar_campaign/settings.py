"""Settings of the campaign service, read once from the environment at start-up."""

from __future__ import annotations

from typing import ClassVar

from zvonar_runtime.settings import ServiceSettings


class CampaignSettings(ServiceSettings, frozen=True, kw_only=True):
    service: str = "campaign"
    # Run the relay in this process (CAMPAIGN_RELAY=0 when a separate `relay` process runs it).
    relay: bool = True
    # Answer commands in this process (`zvonar-campaign relay` turns this off).
    commands: bool = True
    command_workers: int = 8
    # eventsourcing's PostgreSQL pool (and as many overflow connections).
    pg_pool_size: int = 4
    relay_poll_interval: float = 0.05
    relay_batch_size: int = 200
    # Fault-injection aid for tests: seconds between a batch's publish and its record.
    relay_record_delay: float = 0.0

    ENV: ClassVar[dict[str, str]] = {
        "relay": "CAMPAIGN_RELAY",
        "commands": "CAMPAIGN_COMMANDS",
        "command_workers": "CAMPAIGN_COMMAND_WORKERS",
        "pg_pool_size": "CAMPAIGN_PG_POOL_SIZE",
        "relay_poll_interval": "CAMPAIGN_RELAY_POLL_INTERVAL",
        "relay_batch_size": "CAMPAIGN_RELAY_BATCH_SIZE",
        "relay_record_delay": "CAMPAIGN_RELAY_RECORD_DELAY",
    }
