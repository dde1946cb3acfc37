"""The stats service's gauges that come from its read model, refreshed now and then (one
small grouped query; nothing on the projection's path)."""

from __future__ import annotations

import asyncio

import structlog

from zvonar_contracts.options import Status
from zvonar_runtime.db import Database
from zvonar_runtime.shutdown import raise_if_stopping
from zvonar_stats.adapters.read_model import campaigns_by_status
from zvonar_stats.metrics import CAMPAIGNS

log = structlog.get_logger("zvonar.stats.gauges")
REFRESH_SECONDS = 15.0


async def refresh_campaign_gauge(db: Database) -> None:
    """`zvonar_campaigns{status}` once: every status, 0 when it has none."""
    counts = await db.run(campaigns_by_status)
    for status in Status:
        CAMPAIGNS.labels(status.value).set(counts.get(status.value, 0))


async def campaign_gauge(db: Database, interval: float = REFRESH_SECONDS) -> None:
    """Refreshes the gauge every `interval` seconds until cancelled; a database that does
    not answer leaves the last values (the readiness check says it is down)."""
    while True:
        raise_if_stopping()
        try:
            await refresh_campaign_gauge(db)
        except Exception as exc:
            log.warning("campaign_gauge_failed", error=repr(exc))
        await asyncio.sleep(interval)
