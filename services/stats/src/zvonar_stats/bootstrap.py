"""The one place the stats service is wired: its ports (the store, the leases; NATS and
PostgreSQL/SQLite adapters by default, a test's fakes when given), the projector, the
consumers shared by lease, the query responder, the gauges."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from nats.aio.client import Client
from nats.aio.subscription import Subscription
from nats.errors import BadSubscriptionError, ConnectionClosedError

from zvonar_runtime.db import Database
from zvonar_runtime.service import Resources
from zvonar_stats.adapters.leases import KvLeases
from zvonar_stats.adapters.store import SqlStore
from zvonar_stats.domain.partitions import units
from zvonar_stats.entrypoints.consumers import durables, unit_runner
from zvonar_stats.entrypoints.gauges import campaign_gauge
from zvonar_stats.entrypoints.queries import serve_queries
from zvonar_stats.service_layer.partitions import Shares
from zvonar_stats.service_layer.ports import Leases
from zvonar_stats.service_layer.projection import Projector
from zvonar_stats.service_layer.queries import QueryService
from zvonar_stats.settings import StatsSettings


@dataclass
class StatsApp:
    db: Database
    projector: Projector
    queries: QueryService
    subscription: Subscription
    shares: Shares


async def bootstrap(
    settings: StatsSettings,
    *,
    nc: Client,
    db: Database | None = None,
    leases: Leases | None = None,
) -> tuple[StatsApp, Resources]:
    db = db or settings.database()
    store = SqlStore(db)
    projector = Projector(store)
    await projector.open()
    queries = QueryService(store, projector)
    js = nc.jetstream()
    leases = leases or KvLeases(
        js, settings.lease_bucket, settings.lease_seconds, settings.stream_replicas
    )
    shares = Shares(
        leases,
        unit_runner(nc, projector, settings),
        units(settings.partitions),
        settings.owner,
        settings.lease_seconds,
    )
    subscription = await serve_queries(nc, queries)

    async def close() -> None:
        # The broker may have closed the connection already, taking the subscription along
        # (or it was unsubscribed already).
        with contextlib.suppress(ConnectionClosedError, BadSubscriptionError):
            await subscription.unsubscribe()
        await db.aclose()

    resources = Resources(
        checks={"database": db.ping},
        background=[*([shares.run] if settings.project else []), lambda: campaign_gauge(db)],
        close=[close],
        durables=durables(settings),
    )
    return StatsApp(db, projector, queries, subscription, shares), resources
