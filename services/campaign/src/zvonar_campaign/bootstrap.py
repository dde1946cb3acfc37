"""The one place that wires the campaign service: store, tables, dialer clock, relay, handlers.

Tests call `open_store` and `build_deps` with a fixed clock; the process entry point calls
them with the NATS adapters (the dialer's clock read from its key-value entry).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nats.js import JetStreamContext

from zvonar_campaign.adapters.eventstore import POSTGRES_SCHEMA, Campaigns, eventstore_env
from zvonar_campaign.adapters.pg_listen import listen_for_inserts
from zvonar_campaign.adapters.relay import Relay
from zvonar_campaign.adapters.relay_lease import RelayLease
from zvonar_campaign.adapters.tables import Tables
from zvonar_campaign.service_layer.ports import DialerClock
from zvonar_campaign.service_layer.unit import Deps
from zvonar_campaign.settings import CampaignSettings
from zvonar_runtime.db import Database


@dataclass
class Store:
    app: Campaigns
    tables: Tables
    db: Database

    def close(self) -> None:
        self.app.close()
        self.db.close()


def open_store(
    database_url: str | None, sqlite_path_factory: Callable[[], Path], pool_size: int = 4
) -> Store:
    """Opens (and creates if needed) the event store and the service's own tables."""
    sqlite_path = sqlite_path_factory()
    db = Database.from_settings(database_url, sqlite_path, POSTGRES_SCHEMA, workers=2)
    tables = Tables(db)
    # Creates the schema on PostgreSQL before eventsourcing puts its tables in it.
    tables.create_sync()
    env = eventstore_env(database_url, sqlite_path, pool_size)
    app = Campaigns(env=env)
    return Store(app=app, tables=tables, db=db)


def open_store_for(settings: CampaignSettings) -> Store:
    return open_store(
        settings.database_url, lambda: settings.sqlite_path("campaign"), settings.pg_pool_size
    )


def build_deps(
    store: Store, clock: DialerClock, on_stored: Callable[[], None] | None = None
) -> Deps:
    return Deps(
        app=store.app, tables=store.tables, clock=clock, on_stored=on_stored or (lambda: None)
    )


def build_relay(store: Store, js: JetStreamContext, settings: CampaignSettings) -> Relay:
    listen = None
    database_url = settings.database_url
    if database_url:
        channel: str = store.app.recorder.channel_name  # type: ignore[attr-defined]
        listen = functools.partial(listen_for_inserts, database_url, channel)
    return Relay(
        store.app,
        store.tables,
        js,
        poll_interval=settings.relay_poll_interval,
        batch_size=settings.relay_batch_size,
        record_delay=settings.relay_record_delay,
        listen=listen,
        lease=RelayLease(
            js,
            holder=settings.relay_instance_id,
            ttl=settings.relay_lease_ttl,
            replicas=settings.stream_replicas,
        ),
    )
