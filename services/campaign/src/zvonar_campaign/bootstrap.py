"""The one place that wires the campaign service: `bootstrap(settings, **ports)`.

It fills the service layer's ports (service_layer/ports.py) with adapters — the event
store, the service's tables — and takes the ones that come from outside as arguments: the
dialer's clock (the process passes its `ClockReader`, tests a fixed clock), JetStream for the
relay, and an opened store if the caller opened it already (in a worker thread, or a test's
own file). The process entry points (`__main__`, `entrypoints/relay_process.py`) and the
tests build the service through it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nats.js import JetStreamContext

from zvonar_campaign.adapters.eventstore import (
    POSTGRES_SCHEMA,
    Campaigns,
    StoredAggregates,
    eventstore_env,
)
from zvonar_campaign.adapters.pg_listen import listen_for_inserts
from zvonar_campaign.adapters.relay import Relay
from zvonar_campaign.adapters.relay_lease import RelayLease
from zvonar_campaign.adapters.tables import Tables
from zvonar_campaign.service_layer.ports import CampaignTables, DialerClock, EventStore
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


@dataclass
class CampaignService:
    """The service as wired: its store (None when the ports were all given), the relay (if
    this instance runs it), and what the command handlers are given (if it answers
    commands)."""

    store: Store | None
    relay: Relay | None
    commands: Deps | None

    @property
    def deps(self) -> Deps:
        if self.commands is None:
            raise RuntimeError("this instance answers no commands (CAMPAIGN_COMMANDS=0)")
        return self.commands


def bootstrap(
    settings: CampaignSettings,
    *,
    store: Store | None = None,
    clock: DialerClock | None = None,
    js: JetStreamContext | None = None,
    events: EventStore | None = None,
    tables: CampaignTables | None = None,
) -> CampaignService:
    """The service for `settings`: the relay when `settings.relay` (on `js`), the command
    handlers' dependencies when `settings.commands` (with `clock`). The event store and the
    tables are the store's (opened here unless given: a blocking call) unless `events` and
    `tables` are given (a test's fakes; then no store is opened for commands alone)."""
    if settings.relay and js is None:
        raise ValueError("the relay needs JetStream: pass js, or set CAMPAIGN_RELAY=0")
    if settings.commands and clock is None:
        raise ValueError("commands need the dialer's clock: pass clock")
    if store is None and (settings.relay or events is None or tables is None):
        store = open_store_for(settings)
    relay = None
    if settings.relay and js is not None and store is not None:
        relay = _relay(store, js, settings)
    commands = None
    if settings.commands and clock is not None:
        if events is None or tables is None:
            assert store is not None  # opened above
            events = events or StoredAggregates(store.app)
            tables = tables or store.tables
        commands = Deps(
            events=events,
            tables=tables,
            clock=clock,
            on_stored=relay.nudge if relay is not None else (lambda: None),
        )
    return CampaignService(store=store, relay=relay, commands=commands)


def _relay(store: Store, js: JetStreamContext, settings: CampaignSettings) -> Relay:
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
