"""The life of a service process: log set-up, a faststream NatsBroker with the correlation
and metrics middleware, JetStream set-up, health answers (over NATS, and over HTTP on the
monitor port), "ready", then drain on SIGINT/SIGTERM.

A service passes a `setup` coroutine that registers its subscribers on the broker (and
opens its database); it returns a `Resources` object with its readiness checks, background
jobs, durable consumers (for the lag gauge) and what to close on the way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import structlog
from faststream import BaseMiddleware
from faststream.nats import NatsBroker
from nats.js import JetStreamContext

from zvonar_contracts.subjects import CORRELATION_HEADER
from zvonar_runtime.correlation import correlation_scope
from zvonar_runtime.health import Check, serve_health
from zvonar_runtime.jetstream import ensure_jetstream
from zvonar_runtime.logging import configure_logging
from zvonar_runtime.metrics import (
    CONSUMER_ACK_PENDING,
    CONSUMER_LAG,
    MESSAGE_SECONDS,
    MESSAGES_FAILED,
    MESSAGES_PROCESSED,
    Monitor,
)
from zvonar_runtime.natsconn import EXIT_CONFIG, NatsAuth, NatsRefused, NatsWatch
from zvonar_runtime.settings import ServiceSettings, SettingsError
from zvonar_runtime.shutdown import Stopped, raise_if_stopping, shutdown_event, until_stopped

log = structlog.get_logger("zvonar.service")
LAG_INTERVAL_SECONDS = 5.0
# The broker's reconnect wait: the "retry in" of a `nats_unreachable` line.
RECONNECT_SECONDS = 1
# Time given to stopping the subscribers (and closing the client) when NATS is not there.
STOP_WITHOUT_NATS_SECONDS = 1.0


def consumer_label(subject: str) -> str:
    """A bounded metric label for a concrete subject: ids in the middle are dropped."""
    tokens = subject.split(".")
    if len(tokens) <= 3:
        return subject
    return ".".join([*tokens[:2], tokens[-1]])


class _ConsumerMetrics:
    """The metric children of one consumer label, made once (a `.labels()` call per message
    costs a lock and a tuple lookup; this is one dict lookup)."""

    __slots__ = ("failed", "processed", "seconds")

    def __init__(self, label: str) -> None:
        self.processed = MESSAGES_PROCESSED.labels(label)
        self.failed = MESSAGES_FAILED.labels(label)
        self.seconds = MESSAGE_SECONDS.labels(label)


# Keyed by consumer label: bounded (subjects with their ids left out).
_CONSUMERS: dict[str, _ConsumerMetrics] = {}


def consumer_metrics(label: str) -> _ConsumerMetrics:
    found = _CONSUMERS.get(label)
    if found is None:
        found = _CONSUMERS[label] = _ConsumerMetrics(label)
    return found


class CorrelationMiddleware(BaseMiddleware):
    """Binds the incoming message's correlation id to the log context while it is handled,
    stamps the current one on everything published meanwhile, and counts the outcome."""

    async def consume_scope(self, call_next: Any, msg: Any) -> Any:
        headers = getattr(msg, "headers", None) or {}
        subject = getattr(getattr(msg, "raw_message", None), "subject", "") or ""
        metrics = consumer_metrics(consumer_label(subject) if isinstance(subject, str) else "batch")
        started = time.perf_counter()
        with correlation_scope(headers.get(CORRELATION_HEADER)):
            try:
                result = await call_next(msg)
            except Exception:
                metrics.failed.inc()
                raise
            finally:
                metrics.seconds.observe(time.perf_counter() - started)
        metrics.processed.inc()
        return result

    async def publish_scope(self, call_next: Any, cmd: Any) -> Any:
        cid = structlog.contextvars.get_contextvars().get("correlation_id")
        if cid and isinstance(cmd.headers, dict):
            cmd.headers.setdefault(CORRELATION_HEADER, cid)
        return await call_next(cmd)


@dataclass
class Resources:
    checks: dict[str, Check] = field(default_factory=dict)
    background: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    close: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # (stream, durable) pairs whose pending counts feed the consumer-lag gauges
    durables: list[tuple[str, str]] = field(default_factory=list)


Setup = Callable[[NatsBroker], Awaitable[Resources]]


def make_broker(settings: ServiceSettings, watch: NatsWatch | None = None) -> NatsBroker:
    """The service's broker, with the credentials and TLS of its settings; `watch` (made from
    the same settings if not given) learns of a refused login and of a closed connection."""

    watch = watch or NatsWatch(
        NatsAuth.from_settings(settings), settings.nats_url, retry_seconds=RECONNECT_SECONDS
    )
    return NatsBroker(
        settings.nats_servers,
        name=settings.instance_id,
        security=watch.auth.security(),
        **watch.callbacks(),
        max_reconnect_attempts=-1,
        reconnect_time_wait=RECONNECT_SECONDS,
        connect_timeout=2,
        middlewares=(CorrelationMiddleware,),
        graceful_timeout=15.0,
        # faststream's own logger brings its own handler and format; this one goes through
        # the root handler that configure_logging() set up, so every line is one format.
        logger=logging.getLogger("zvonar.broker"),
        # faststream's per-message "Received" / "Processed" lines: debug, not info (two
        # lines per message are noise, and CPU on the hot path).
        log_level=logging.DEBUG,
    )


async def watch_lag(
    js: JetStreamContext, durables: list[tuple[str, str]], interval: float = LAG_INTERVAL_SECONDS
) -> None:
    """Every `interval` seconds, one consumer-info request per durable (a few bytes each):
    its pending and unacknowledged counts into the consumer-lag gauges. A consumer that
    cannot be asked keeps its last values (NATS down: `up` and the logs say so)."""
    gauges = [
        (
            stream,
            durable,
            CONSUMER_LAG.labels(stream, durable),
            CONSUMER_ACK_PENDING.labels(stream, durable),
        )
        for stream, durable in durables
    ]
    while True:
        for stream, durable, lag, ack_pending in gauges:
            # consumer_info awaits through 3.11's wait_for, which can swallow a stop.
            raise_if_stopping()
            try:
                info = await js.consumer_info(stream, durable, timeout=2.0)
            except Exception as exc:
                log.debug("consumer_info_failed", stream=stream, consumer=durable, error=repr(exc))
                continue
            lag.set(info.num_pending or 0)
            ack_pending.set(info.num_ack_pending or 0)
        await asyncio.sleep(interval)


async def connect_broker(settings: ServiceSettings) -> tuple[NatsBroker, NatsWatch]:
    """The service's broker, connected. Bad NATS settings, or a server that refuses the
    credentials, raise SettingsError or NatsRefused at once (not a retry loop); a server
    that does not answer is tried again for ever, with `nats_unreachable` lines."""
    watch = NatsWatch(
        NatsAuth.from_settings(settings), settings.nats_url, retry_seconds=RECONNECT_SECONDS
    )
    broker = make_broker(settings, watch)
    await broker.connect()
    watch.connected = True
    watch.failed_attempts = 0
    return broker, watch


@dataclass
class _Started:
    """What start-up has made so far: closed in reverse if SIGTERM cuts it short."""

    broker: NatsBroker | None = None
    resources: Resources | None = None


async def _give_up_start(started: _Started) -> None:
    if started.resources is not None:
        for close in reversed(started.resources.close):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(close(), 1.0)
    if started.broker is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(started.broker.stop(), 1.0)


async def serve(settings: ServiceSettings, setup: Setup) -> None:
    """Run one service until SIGINT/SIGTERM, then drain and close. SIGINT/SIGTERM during
    start-up (NATS not answering, the store not opening) stops it at once. A connection the
    server closed (nats-py does not reopen those) ends the process with status 1, for its
    supervisor to start it again."""
    configure_logging(settings.service, settings.log_level, settings.log_format)
    stop = shutdown_event()
    started = _Started()
    log.debug("starting", nats=settings.nats_url)
    try:
        try:
            broker, watch = await until_stopped(stop, connect_broker(settings))
        except (NatsRefused, SettingsError) as exc:
            # One line saying why, and the status a supervisor leaves alone.
            log.error(
                "nats_refused" if isinstance(exc, NatsRefused) else "settings_invalid",
                error=str(exc),
            )
            raise SystemExit(EXIT_CONFIG) from None
        started.broker = broker
        await until_stopped(
            stop, ensure_jetstream(broker.connection.jetstream(), settings.stream_replicas)
        )
        resources = started.resources = await until_stopped(stop, setup(broker))
        await until_stopped(stop, broker.start())
        await until_stopped(
            stop,
            serve_health(
                broker.connection, settings.service, settings.instance_id, resources.checks
            ),
        )
    except Stopped:
        log.info("stopped_during_start_up")
        await _give_up_start(started)
        return

    async def ready() -> bool:
        if not broker.connection.is_connected:
            return False
        results = await asyncio.gather(*(check() for check in resources.checks.values()))
        return all(results)

    monitor: Monitor | None = None
    if settings.monitor_port:
        monitor = Monitor(settings.monitor_host, settings.monitor_port, ready)
        await monitor.start()
    jobs: list[Callable[[], Coroutine[Any, Any, None]]] = list(resources.background)
    if resources.durables:
        jobs.append(lambda: watch_lag(broker.connection.jetstream(), resources.durables))
    tasks: list[asyncio.Task[None]] = [asyncio.create_task(job()) for job in jobs]
    log.info("ready", instance=settings.instance_id, nats=settings.nats_url)
    waiter = asyncio.create_task(stop.wait())
    closed = asyncio.create_task(watch.closed.wait())
    done, _ = await asyncio.wait([waiter, closed, *tasks], return_when=asyncio.FIRST_COMPLETED)
    failed = [t for t in done if t not in (waiter, closed) and t.exception() is not None]
    lost = closed in done and waiter not in done
    if lost:
        log.error(
            "nats_connection_closed",
            reason=watch.reason or "closed by the server",
            last_error=repr(broker.connection.last_error),
        )
    closed.cancel()
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    log.info("stopping")
    if monitor is not None:
        await monitor.stop()
    connection = broker.connection
    if not lost and not connection.is_connected:
        # NATS is down and the client is reconnecting: it cannot drain, and waiting for it
        # would outlast the supervisor's patience. Messages in hand are redelivered.
        log.warning("stopping_without_drain", reason="NATS unreachable", nats=settings.nats_url)
    if lost or not connection.is_connected:
        # A closed or reconnecting client cannot drain; stop the subscribers without it.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(broker.stop(), STOP_WITHOUT_NATS_SECONDS)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.close(), STOP_WITHOUT_NATS_SECONDS)
    else:
        await broker.stop()
    for close in reversed(resources.close):
        try:
            await close()
        except Exception:
            log.exception("close_failed")
    if failed:
        log.error("background_task_failed", error=repr(failed[0].exception()))
        raise SystemExit(1)
    if lost:
        raise SystemExit(1)
    log.info("stopped")
