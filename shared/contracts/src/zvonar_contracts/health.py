"""Health over NATS: every service instance answers `zvonar.health.<service>`."""

from __future__ import annotations

import msgspec


class HealthReply(msgspec.Struct, frozen=True, kw_only=True):
    service: str
    instance: str
    ready: bool
    checks: dict[str, bool] = {}
