"""The life of a service process: log set-up, a faststream NatsBroker with the correlation
middleware, JetStream set-up, health answers, "ready", then drain on SIGINT/SIGTERM.

A service passes a `setup` coroutine that registers its subscribers on the broker (and
opens its database); it returns a `Resources` object with its readiness checks and what to
close on the way out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from faststream import BaseMiddleware
from faststream.nats import NatsBroker

from zvonar_contracts.subjects import CORRELATION_HEADER
from zvonar_runtime.correlation import correlation_scope
from zvonar_runtime.health import Check, serve_health
from zvonar_runtime.jetstream import ensure_jetstream
from zvonar_runtime.logging import configure_logging
from zvonar_runtime.settings import ServiceSettings
from zvonar_runtime.shutdown import shutdown_event

log = structlog.get_logger("zvonar.service")


class CorrelationMiddleware(BaseMiddleware):  # type: ignore[type-arg]
    """Binds the incoming message's correlation id to the log context while it is handled,
    and stamps the current one on everything published meanwhile."""

    async def consume_scope(self, call_next: Any, msg: Any) -> Any:
        headers = getattr(msg, "headers", None) or {}
        with correlation_scope(headers.get(CORRELATION_HEADER)):
            return await call_next(msg)

    async def publish_scope(self, call_next: Any, cmd: Any) -> Any:
        cid = structlog.contextvars.get_contextvars().get("correlation_id")
        if cid and isinstance(cmd.headers, dict):
            cmd.headers.setdefault(CORRELATION_HEADER, cid)
        return await call_next(cmd)


@dataclass
class Resources:
    checks: dict[str, Check] = field(default_factory=dict)
    background: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    close: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


Setup = Callable[[NatsBroker], Awaitable[Resources]]


def make_broker(settings: ServiceSettings) -> NatsBroker:
    return NatsBroker(
        settings.nats_url,
        name=settings.instance_id,
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        connect_timeout=2,
        middlewares=(CorrelationMiddleware,),
        graceful_timeout=15.0,
    )


async def serve(settings: ServiceSettings, setup: Setup) -> None:
    """Run one service until SIGINT/SIGTERM, then drain and close."""
    configure_logging(settings.service, settings.log_level, settings.log_format)
    stop = shutdown_event()
    broker = make_broker(settings)
    await broker.connect()
    await ensure_jetstream(broker.connection.jetstream(), settings.stream_replicas)
    resources = await setup(broker)
    await broker.start()
    await serve_health(broker.connection, settings.service, settings.instance_id, resources.checks)
    tasks: list[asyncio.Task[None]] = [
        asyncio.create_task(job())  # type: ignore[arg-type]
        for job in resources.background
    ]
    log.info("ready", instance=settings.instance_id, nats=settings.nats_url)
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
    failed = [t for t in done if t is not waiter and t.exception() is not None]
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    log.info("stopping")
    await broker.stop()
    for close in reversed(resources.close):
        try:
            await close()
        except Exception:
            log.exception("close_failed")
    if failed:
        log.error("background_task_failed", error=repr(failed[0].exception()))
        raise SystemExit(1)
    log.info("stopped")
