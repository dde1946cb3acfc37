"""Health over NATS: each service instance answers `zvonar.health.<service>` with its
readiness, which the runner and the tests wait for."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from zvonar_contracts.codec import decode, encode
from zvonar_contracts.health import HealthReply
from zvonar_contracts.subjects import health_queue, health_subject

Check = Callable[[], Awaitable[bool]]


async def serve_health(
    nc: Client, service: str, instance: str, checks: dict[str, Check] | None = None
) -> None:
    """Answer health requests for `service` on the given connection until it closes."""
    checks = checks or {}

    async def answer(msg: Msg) -> None:
        results: dict[str, bool] = {}
        for name, check in checks.items():
            try:
                results[name] = bool(await asyncio.wait_for(check(), 1.0))
            except Exception:
                results[name] = False
        reply = HealthReply(
            service=service,
            instance=instance,
            ready=nc.is_connected and all(results.values()),
            checks=results,
        )
        await msg.respond(encode(reply))

    await nc.subscribe(health_subject(service), queue=health_queue(service), cb=answer)


async def ask_health(nc: Client, service: str, timeout: float = 1.0) -> HealthReply | None:
    try:
        msg = await nc.request(health_subject(service), b"", timeout=timeout)
    except (TimeoutError, NatsTimeout, NoRespondersError):
        return None
    try:
        return decode(msg.data, HealthReply)
    except msgspec.DecodeError:
        return None


async def wait_ready(
    nc: Client, services: Iterable[str], timeout: float = 60.0, interval: float = 0.2
) -> dict[str, HealthReply]:
    """Wait until every named service reports ready; raise TimeoutError naming the others."""
    pending = set(services)
    ready: dict[str, HealthReply] = {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while pending:
        for service in sorted(pending):
            reply = await ask_health(nc, service, timeout=0.5)
            if reply is not None and reply.ready:
                ready[service] = reply
                pending.discard(service)
        if not pending:
            break
        if loop.time() > deadline:
            raise TimeoutError(f"services not ready: {', '.join(sorted(pending))}")
        await asyncio.sleep(interval)
    return ready
