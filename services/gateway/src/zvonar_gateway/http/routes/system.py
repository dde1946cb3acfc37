"""Public endpoints: `/healthz` (every service ready over NATS) and `/metrics`."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from litestar import MediaType, Request, Response, get
from nats.aio.client import Client
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from zvonar_contracts.subjects import SERVICES
from zvonar_runtime.health import ask_health


class HealthProbe:
    """Asks each service for its health, at most once a second (answers are cached)."""

    def __init__(self, nc: Client, ttl: float = 1.0, timeout: float = 0.5) -> None:
        self.nc = nc
        self.ttl = ttl
        self.timeout = timeout
        self._cached: tuple[float, dict[str, bool]] | None = None
        self._lock = asyncio.Lock()

    async def services(self) -> dict[str, bool]:
        async with self._lock:
            now = time.monotonic()
            if self._cached is not None and now - self._cached[0] < self.ttl:
                return self._cached[1]
            replies = await asyncio.gather(
                *(ask_health(self.nc, service, timeout=self.timeout) for service in SERVICES)
            )
            result = {
                service: reply is not None and reply.ready
                for service, reply in zip(SERVICES, replies, strict=True)
            }
            self._cached = (time.monotonic(), result)
            return result


@get(
    "/healthz",
    tags=["system"],
    summary="200 once every service answers ready",
    media_type=MediaType.JSON,
)
async def healthz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    probe: HealthProbe = request.app.state.health
    services = await probe.services()
    ready = all(services.values())
    body: dict[str, Any] = {"status": "ok" if ready else "unavailable", "services": services}
    if ready:
        return Response(body, status_code=200)
    down = sorted(name for name, up in services.items() if not up)
    body["error"] = {
        "code": "service_unavailable",
        "message": f"not ready: {', '.join(down)}",
        "details": [{"field": name, "message": "not ready"} for name in down],
    }
    return Response(body, status_code=503, headers={"Retry-After": "1"})


# Not the plugin's PrometheusController: its route is documented as application/json.
@get("/metrics", tags=["system"], summary="Prometheus metrics", media_type=MediaType.TEXT)
async def metrics() -> Response[bytes]:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


HANDLERS = [healthz, metrics]
