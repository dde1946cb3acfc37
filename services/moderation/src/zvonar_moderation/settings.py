"""Settings of the moderation service, read once from the environment at start-up.

Its variables are `MODERATION_*`, one prefix per service (CAMPAIGN_*, DIALER_*, STATS_*);
the older `ZVONAR_MODERATION_*` names are still read, deprecated (the new name wins)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from zvonar_contracts.subjects import MODERATION_CONSUMER
from zvonar_runtime.settings import ServiceSettings, env


class ModerationSettings(ServiceSettings):
    service: str = "moderation"
    # None: the rules.toml shipped with the package.
    rules_path: Path | None = Field(
        None, validation_alias=env("MODERATION_RULES", "ZVONAR_MODERATION_RULES")
    )
    consumer: str = Field(
        MODERATION_CONSUMER,
        validation_alias=env("MODERATION_CONSUMER", "ZVONAR_MODERATION_CONSUMER"),
    )
    # Seconds to wait for the campaign service's reply.
    command_timeout: float = Field(
        2.0, validation_alias=env("MODERATION_COMMAND_TIMEOUT", "ZVONAR_MODERATION_COMMAND_TIMEOUT")
    )
    # Seconds before an undelivered decision is tried again.
    retry_delay: float = Field(
        1.0, validation_alias=env("MODERATION_RETRY_DELAY", "ZVONAR_MODERATION_RETRY_DELAY")
    )
