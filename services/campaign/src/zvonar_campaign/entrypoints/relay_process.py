"""`zvonar-campaign relay`: the relay as a process of its own.

It needs no broker framework, only a NATS connection, the store and the relay loop, so it
starts in a fraction of the time the command process takes — it is the process that gets
restarted after a crash. It answers health like any instance (over NATS, and on
ZVONAR_MONITOR_PORT: /healthz, /readyz, /metrics with `zvonar_relay_behind_events`) and
drains on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from zvonar_campaign.bootstrap import bootstrap, open_store_for
from zvonar_campaign.settings import CampaignSettings
from zvonar_runtime.health import serve_health
from zvonar_runtime.jetstream import connect, ensure_jetstream
from zvonar_runtime.logging import configure_logging
from zvonar_runtime.metrics import Monitor
from zvonar_runtime.natsconn import EXIT_CONFIG, NatsAuth, NatsRefused, NatsWatch
from zvonar_runtime.settings import SettingsError
from zvonar_runtime.shutdown import Stopped, shutdown_event, until_stopped

log = structlog.get_logger("zvonar.campaign.relay")


async def run_relay(settings: CampaignSettings) -> None:
    configure_logging(settings.service, settings.log_level, settings.log_format)
    stop = shutdown_event()
    log.debug("starting", role="relay", nats=settings.nats_url)
    try:
        watch = NatsWatch(NatsAuth.from_settings(settings), settings.nats_url)
        nc = await until_stopped(
            stop, connect(settings.nats_url, f"{settings.instance_id}-relay", watch=watch)
        )
    except (NatsRefused, SettingsError) as exc:
        log.error(
            "nats_refused" if isinstance(exc, NatsRefused) else "settings_invalid", error=str(exc)
        )
        raise SystemExit(EXIT_CONFIG) from None
    except Stopped:
        log.info("stopped_during_start_up", role="relay")
        return
    try:
        await until_stopped(stop, ensure_jetstream(nc.jetstream(), settings.stream_replicas))
        store = await until_stopped(stop, asyncio.to_thread(open_store_for, settings))
    except Stopped:
        log.info("stopped_during_start_up", role="relay")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(nc.close(), 1.0)
        return
    relay_only = settings.model_copy(update={"relay": True, "commands": False})
    relay = bootstrap(relay_only, store=store, js=nc.jetstream()).relay
    assert relay is not None  # bootstrap builds it for a relay-only instance
    await serve_health(
        nc, settings.service, f"{settings.instance_id}-relay", {"store": store.db.ping}
    )
    monitor: Monitor | None = None
    if settings.monitor_port:

        async def ready() -> bool:
            return nc.is_connected and await store.db.ping()

        monitor = Monitor(settings.monitor_host, settings.monitor_port, ready)
        await monitor.start()
    task = asyncio.create_task(relay.run())
    log.info("ready", role="relay", nats=settings.nats_url)
    waiter = asyncio.create_task(stop.wait())
    closed = asyncio.create_task(watch.closed.wait())
    await asyncio.wait([waiter, closed, task], return_when=asyncio.FIRST_COMPLETED)
    failed = task.done() and not task.cancelled() and task.exception() is not None
    lost = closed.done() and not waiter.done()
    if lost:
        log.error(
            "nats_connection_closed",
            reason=watch.reason or "closed by the server",
            last_error=repr(nc.last_error),
        )
    for pending in (task, waiter, closed):
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pending
    if monitor is not None:
        await monitor.stop()
    if not nc.is_closed:
        await nc.drain()
    await asyncio.to_thread(store.close)
    if failed:
        log.error("relay_stopped_on_error", error=repr(task.exception()))
        raise SystemExit(1)
    if lost:
        raise SystemExit(1)
    log.info("stopped", role="relay")
