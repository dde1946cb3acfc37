"""The one place that wires the dialer: store, clock, adapters, subscribers, background jobs.

The entry point calls `bootstrap` with a NATS connection; tests call it with fakes for the
ports they replace (service_layer.ports: a telephony, a synthesizer, the campaign commands,
the blobs...) and, for a dialer with no NATS at all, without a connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypedDict, Unpack

import structlog
from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.js import JetStreamContext

from zvonar_contracts.subjects import CAMPAIGN_EVENTS_STREAM, DIALER_CAMPAIGN_CONSUMER
from zvonar_dialer.adapters import schema, store
from zvonar_dialer.adapters.audio import AudioDecoder
from zvonar_dialer.adapters.blobs import NatsBlobs
from zvonar_dialer.adapters.campaign_commands import NatsCampaignCommands
from zvonar_dialer.adapters.campaign_log import JetStreamCampaignLog
from zvonar_dialer.adapters.lease_fences import partition_count, store_id
from zvonar_dialer.adapters.leases import NatsLeases, this_process
from zvonar_dialer.adapters.outbox_publisher import OutboxPublisher, Publisher
from zvonar_dialer.adapters.recording import make_recording
from zvonar_dialer.adapters.simulated_carrier import SimulatedCarrier
from zvonar_dialer.adapters.sip.carrier import SipCarrier
from zvonar_dialer.adapters.sip.config import sip_config
from zvonar_dialer.adapters.store import SqlTransactions
from zvonar_dialer.adapters.tts import Synthesizer
from zvonar_dialer.adapters.webhooks import WebhookSender
from zvonar_dialer.domain.carrier_health import CarrierHealth
from zvonar_dialer.domain.clock import DialerClock, wall_now
from zvonar_dialer.domain.tariff import load_tariff
from zvonar_dialer.entrypoints import campaign_events, requests
from zvonar_dialer.metrics import CARRIER_FAILURES, CARRIER_UP, CHANNELS_IN_USE, CHANNELS_LIMIT
from zvonar_dialer.service_layer import requests as requests_service
from zvonar_dialer.service_layer.deps import Deps
from zvonar_dialer.service_layer.message_cache import MessageCache
from zvonar_dialer.service_layer.ownership import PartitionOwnership
from zvonar_dialer.service_layer.ports import (
    BlobStore,
    CampaignLog,
    CommandSender,
    Leases,
    SecretReader,
    SpeechSynthesizer,
    Telephony,
)
from zvonar_dialer.service_layer.preparation import message_of
from zvonar_dialer.service_layer.scheduler import Scheduler
from zvonar_dialer.settings import DialerSettings
from zvonar_runtime.consumer import Consumer
from zvonar_runtime.db import Database
from zvonar_runtime.dialer_clock import publish_clock
from zvonar_runtime.jetstream import ensure_jetstream
from zvonar_runtime.secrets import SecretStore, secrets_key
from zvonar_runtime.service import Resources, make_broker
from zvonar_runtime.settings import SettingsError
from zvonar_runtime.shutdown import bounded, stop_tasks

log = structlog.get_logger("zvonar.dialer.leases")

# How long each step of stopping an in-process dialer may take (its background jobs, the
# broker, each resource closed).
STOP_STEP_S = 10.0


@dataclass
class Dialer:
    database: Database
    deps: Deps
    scheduler: Scheduler
    outbox: OutboxPublisher
    webhooks: WebhookSender
    sip: SipCarrier | None = None
    # The runtime kit's consumers (entrypoints), run as background jobs.
    consumers: list[Consumer[Any]] = field(default_factory=list)
    # The leases by which it shares the campaigns with other dialers (None: it dials all).
    ownership: PartitionOwnership | None = None

    def resources(self) -> Resources:
        async def ready() -> bool:
            return await self.database.ping()

        close: list[Callable[[], Awaitable[None]]] = [self.database.aclose, self.webhooks.stop]
        if self.sip is not None:
            close.append(self.stop_calls)
        leases = [self.ownership.run] if self.ownership is not None else []
        return Resources(
            checks={"database": ready},
            background=[
                *leases,
                self.scheduler.run,
                self.outbox.run,
                self.webhooks.run,
                *(consumer.run for consumer in self.consumers),
            ],
            close=close,
            durables=[(CAMPAIGN_EVENTS_STREAM, DIALER_CAMPAIGN_CONSUMER)],
        )

    async def stop_calls(self) -> None:
        """Calls in progress end with the process (their numbers stay `placing`: the next
        process finds them interrupted); then the SIP socket closes."""
        for task in list(self.deps.calls):
            task.cancel()
        await asyncio.gather(*self.deps.calls, return_exceptions=True)
        if self.sip is not None:
            await self.sip.stop()


def sip_carrier(settings: DialerSettings, deps: Callable[[], Deps]) -> SipCarrier:
    """The SIP trunk of the settings; the message of a campaign is read through `deps`."""
    config = sip_config(
        trunk=settings.sip_trunk,
        user=settings.sip_user,
        password=settings.sip_password,
        bind=settings.sip_bind,
        public_host=settings.sip_public_host,
        rtp_ports=settings.rtp_ports,
        dial_format=settings.sip_dial_format,
        channels=settings.sip_channels,
        cps=settings.sip_cps,
        ring_timeout_s=settings.sip_ring_timeout_s,
        no_answer_s=settings.sip_no_answer_s,
        max_call_s=settings.sip_max_call_s,
        ivr_wait_s=settings.ivr_wait_s,
    )

    async def message(campaign_id: int) -> bytes:
        current = deps()
        campaign = await current.db.run(lambda tx: tx.load_campaign(campaign_id))
        if campaign is None:
            raise LookupError(f"campaign {campaign_id} is not known to this dialer")
        return (await message_of(current, campaign)).wav()

    return SipCarrier(config, message)


def expose_gauges(deps: Deps, carrier: str) -> None:
    """The carrier's gauges, read from the live objects when /metrics is scraped (nothing
    on the calls' path): lines in use and their limit, up or down, failures in a row."""
    health = deps.carrier
    CHANNELS_IN_USE.labels(carrier).set_function(
        lambda: float(getattr(deps.telephony, "busy_channels", 0))  # an adapter's own count
    )
    limit = deps.telephony.channels_total
    if limit is not None:
        CHANNELS_LIMIT.labels(carrier).set(limit)
    CARRIER_UP.labels(carrier).set_function(lambda: 0.0 if health.down else 1.0)
    CARRIER_FAILURES.labels(carrier).set_function(lambda: float(health.failures))


def open_database(settings: DialerSettings) -> Database:
    db = Database.from_settings(
        settings.database_url, settings.sqlite_path("dialer"), "dialer", settings.db_workers
    )
    db.run_sync(schema.create_schema)
    return db


def _needs_nats(nc: Client | None, port: str) -> Client:
    if nc is None:
        raise ValueError(f"bootstrap: no NATS connection, so the {port} port must be given")
    return nc


class Ports(TypedDict, total=False):
    """What a caller of `bootstrap` may replace (tests: fakes); the rest is the real thing."""

    telephony: Telephony
    synthesizer: SpeechSynthesizer
    commands: CommandSender
    blobs: BlobStore
    secrets: SecretReader
    publisher: Publisher
    campaign_log: CampaignLog
    leases: Leases  # shared with other dialers (without NATS and this: it dials every campaign)
    wall: Callable[[], dt.datetime]  # the wall clock the dialer's clock runs on


async def bootstrap(
    settings: DialerSettings, nc: Client | None = None, **ports: Unpack[Ports]
) -> Dialer:
    """The dialer of `settings`: every port not given is the real adapter, on `nc` where it
    talks to NATS. Without `nc` (tests) the NATS ports — commands, blobs, secrets and the
    outbox's publisher — must be given; the scheduler then waits for no campaign stream
    (unless `campaign_log` is given) and the clock is not published."""
    if "telephony" not in ports and settings.carrier not in ("simulated", "sip"):
        raise SettingsError(f"DIALER_CARRIER: {settings.carrier!r} (simulated or sip)")
    js = nc.jetstream() if nc is not None else None
    commands = ports.get("commands") or NatsCampaignCommands(_needs_nats(nc, "commands"))
    blobs = ports.get("blobs") or NatsBlobs(_needs_nats(nc, "blobs").jetstream())
    secrets = ports.get("secrets") or SecretStore(
        _needs_nats(nc, "secrets"), secrets_key(Path(settings.data_dir))
    )
    publisher = ports.get("publisher") or _needs_nats(nc, "publisher").jetstream()
    campaign_log = ports.get("campaign_log")
    if campaign_log is None and js is not None:
        campaign_log = JetStreamCampaignLog(js)
    telephony = ports.get("telephony")
    wall = ports.get("wall", wall_now)
    db = open_database(settings)
    origin = await db.run(lambda cur: store.clock_origin(cur, wall()))
    clock = DialerClock(origin, settings.time_scale, wall)
    if js is not None:
        # Every service computes the dialer's time from this entry instead of asking.
        await publish_clock(js, clock.published)
    sip: SipCarrier | None = None
    if telephony is None and settings.carrier == "sip":
        sip = telephony = sip_carrier(settings, lambda: deps)
        await sip.start()
    synthesizer = ports.get("synthesizer") or Synthesizer()
    deps = Deps(
        db=SqlTransactions(db),
        clock=clock,
        commands=commands,
        blobs=blobs,
        telephony=telephony or SimulatedCarrier(db),
        synthesizer=synthesizer,
        audio=AudioDecoder(),
        simulated_recording=partial(make_recording, synthesizer=synthesizer),
        tariff=load_tariff(settings.tariff_file),
        secrets=secrets,
        caller_pool=settings.caller_numbers,
        max_burst=settings.max_burst,
        call_concurrency=settings.call_concurrency,
        tick_seconds=settings.tick_seconds,
        carrier=CarrierHealth(settings.carrier_failures),
        campaign_log=campaign_log,
        messages=MessageCache(settings.message_cache_mb * 1024 * 1024),
    )
    if sip is not None:
        sip.inbound = partial(requests_service.inbound_to_any, deps)
    expose_gauges(deps, settings.carrier)
    leases = ports.get("leases")
    if leases is None and js is not None:
        leases = await open_leases(settings, db, js)
    ownership = None if leases is None else await share_campaigns(settings, deps, db, leases)
    scope = ownership.outbox_scope if ownership is not None else lambda: None
    outbox = OutboxPublisher(db, publisher, deps.outbox_wakeup, scope)
    webhooks = WebhookSender(
        db,
        deps.secrets,
        deps.webhook_wakeup,
        timeout_s=settings.webhook_timeout_s,
        base_delay_s=settings.webhook_retry_first_s,
        max_delay_s=settings.webhook_retry_max_s,
        give_up_after_s=settings.webhook_give_up_s,
        concurrency=settings.webhook_concurrency,
        allow_private=settings.webhook_allow_private,
    )
    return Dialer(db, deps, Scheduler(deps), outbox, webhooks, sip, ownership=ownership)


async def open_leases(settings: DialerSettings, db: Database, js: JetStreamContext) -> Leases:
    """The dialers' leases in NATS KV, named after this database (docs/scaling.md
    "Dialers")."""
    store_of = await db.run(store_id)
    me = this_process(settings.instance_id)
    return await NatsLeases.open(js, store_of, settings.lease_ttl_s, settings.stream_replicas, me)


async def share_campaigns(
    settings: DialerSettings, deps: Deps, db: Database, leases: Leases
) -> PartitionOwnership:
    """The ownership through which this dialer shares the campaigns with the other dialers
    of its database, wired into `deps`."""
    configured = settings.lease_partitions
    partitions = await db.run(lambda cur: partition_count(cur, configured))
    if partitions != configured:
        log.warning("leases_partitions_of_database", partitions=partitions, configured=configured)

    def taken() -> None:  # work waits in the partitions just taken
        deps.scheduler_wakeup.set()
        deps.outbox_wakeup.set()

    ownership = PartitionOwnership(
        deps.db,
        leases,
        this_process(settings.instance_id).id,
        partitions,
        on_taken=taken,
        calls_here=lambda: deps.calls_in_progress,
    )
    deps.ownership = ownership
    return ownership


def register(broker: NatsBroker, dialer: Dialer) -> None:
    dialer.consumers.append(campaign_events.consumer(broker.connection, dialer.deps))
    requests.register(broker, dialer.deps)


@contextlib.asynccontextmanager
async def run_in_process(settings: DialerSettings, **ports: Unpack[Ports]) -> AsyncIterator[Dialer]:
    """The whole dialer inside the current event loop (tests, benchmarks): what `serve` does,
    without the signal handling and health answers."""
    broker = make_broker(settings)
    await broker.connect()
    await ensure_jetstream(broker.connection.jetstream(), settings.stream_replicas)
    dialer = await bootstrap(settings, broker.connection, **ports)
    register(broker, dialer)
    await broker.start()
    # The subscriptions reach the server before the caller asks anything (a request sent
    # at once from another connection otherwise met no responders, under load).
    await broker.connection.flush()
    resources = dialer.resources()
    tasks: list[asyncio.Task[None]] = [
        asyncio.create_task(job(), name=getattr(job, "__qualname__", None))
        for job in resources.background
    ]
    try:
        yield dialer
    finally:
        # Each step bounded: whatever state the dialer is in, it stops within seconds, and
        # the log says what did not stop in time.
        await stop_tasks(tasks, STOP_STEP_S)
        await bounded(broker.stop, "broker.stop", STOP_STEP_S)
        for close in reversed(resources.close):
            await bounded(close, getattr(close, "__qualname__", repr(close)), STOP_STEP_S)
        # A background job that had failed before the stop fails the run, as it did.
        failed = [
            error
            for t in tasks
            if t.done() and not t.cancelled() and (error := t.exception()) is not None
        ]
        if failed:
            raise failed[0]
