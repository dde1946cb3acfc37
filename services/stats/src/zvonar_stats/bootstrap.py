"""The one place the stats service is wired: database, projector, consumers, queries."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from nats.aio.client import Client
from nats.aio.subscription import Subscription
from nats.errors import ConnectionClosedError

from zvonar_contracts.subjects import CALL_EVENTS_STREAM, CAMPAIGN_EVENTS_STREAM
from zvonar_runtime.db import Database
from zvonar_runtime.service import Resources
from zvonar_stats.entrypoints.consumers import consumer_jobs
from zvonar_stats.entrypoints.gauges import campaign_gauge
from zvonar_stats.entrypoints.queries import serve_queries
from zvonar_stats.service_layer.projection import Projector
from zvonar_stats.service_layer.queries import QueryService
from zvonar_stats.settings import StatsSettings


@dataclass
class StatsApp:
    db: Database
    projector: Projector
    queries: QueryService
    subscription: Subscription


async def bootstrap(nc: Client, settings: StatsSettings) -> tuple[StatsApp, Resources]:
    db = settings.database()
    projector = Projector(db)
    await projector.open()
    queries = QueryService(db, projector)
    subscription = await serve_queries(nc, queries)

    async def close() -> None:
        # The broker may have closed the connection already, taking the subscription along.
        with contextlib.suppress(ConnectionClosedError):
            await subscription.unsubscribe()
        await db.aclose()

    resources = Resources(
        checks={"database": db.ping},
        background=[
            *consumer_jobs(nc.jetstream(), projector, settings),
            lambda: campaign_gauge(db),
        ],
        close=[close],
        durables=[
            (CAMPAIGN_EVENTS_STREAM, settings.campaign_durable),
            (CALL_EVENTS_STREAM, settings.call_durable),
        ],
    )
    return StatsApp(db, projector, queries, subscription), resources
