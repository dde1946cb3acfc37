"""Settings of the moderation service, read once from the environment at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from zvonar_contracts.subjects import MODERATION_CONSUMER
from zvonar_runtime.settings import ServiceSettings


class ModerationSettings(ServiceSettings, kw_only=True, frozen=True):
    service: str = "moderation"
    # None: the rules.toml shipped with the package.
    rules_path: Path | None = None
    consumer: str = MODERATION_CONSUMER
    command_timeout: float = 2.0  # seconds to wait for the campaign service's reply
    retry_delay: float = 1.0  # seconds before an undelivered decision is tried again

    ENV: ClassVar[dict[str, str]] = {
        "rules_path": "ZVONAR_MODERATION_RULES",
        "consumer": "ZVONAR_MODERATION_CONSUMER",
        "command_timeout": "ZVONAR_MODERATION_COMMAND_TIMEOUT",
        "retry_delay": "ZVONAR_MODERATION_RETRY_DELAY",
    }
