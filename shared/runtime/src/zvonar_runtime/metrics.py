"""Prometheus metrics shared by every service, and a tiny HTTP monitor that serves
`/healthz` (liveness), `/readyz` (readiness: connected to NATS and its database) and
`/metrics` on the port in ZVONAR_MONITOR_PORT."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

MESSAGES_PROCESSED = Counter(
    "zvonar_messages_processed_total",
    "Messages handled successfully, per consumer (subject or durable name)",
    ["service", "consumer"],
)
MESSAGES_FAILED = Counter(
    "zvonar_messages_failed_total",
    "Messages whose handler raised (nacked for redelivery), per consumer",
    ["service", "consumer"],
)
HANDLER_SECONDS = Histogram(
    "zvonar_handler_seconds",
    "Time to handle one message or command, per consumer",
    ["service", "consumer"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
CONSUMER_LAG = Gauge(
    "zvonar_consumer_lag_messages",
    "Messages in the stream not yet delivered to a durable consumer",
    ["service", "consumer"],
)
CALLS_PLACED = Counter(
    "zvonar_calls_placed_total", "Calls placed by the dialer, per outcome", ["outcome"]
)
HTTP_REQUESTS = Counter(
    "zvonar_http_requests_total", "HTTP requests, per route and status", ["route", "status"]
)
HTTP_SECONDS = Histogram(
    "zvonar_http_request_seconds", "HTTP request latency, per route", ["route"]
)
MESSAGES_PARKED = Counter(
    "zvonar_messages_parked_total",
    "Messages a service could not publish or store, set aside in its parked table, per reason",
    ["service", "reason"],
)
MESSAGES_TOO_LARGE = Counter(
    "zvonar_messages_too_large_total",
    "Messages never sent because they would exceed the server's max payload, per kind",
    ["service", "kind"],
)

ReadyCheck = Callable[[], Awaitable[bool]]


def metrics_payload() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST


class Monitor:
    """Serves liveness, readiness and metrics over plain HTTP/1.1 on host:port."""

    def __init__(self, host: str, port: int, ready: ReadyCheck) -> None:
        self.host = host
        self.port = port
        self.ready = ready
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), 5)
            while await asyncio.wait_for(reader.readline(), 5) not in (b"\r\n", b"\n", b""):
                continue
            parts = request_line.decode("latin-1").split()
            path = parts[1].split("?")[0] if len(parts) > 1 else "/"
            status, body, ctype = await self._route(path)
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _route(self, path: str) -> tuple[str, bytes, str]:
        if path == "/healthz":
            return "200 OK", b'{"status":"alive"}', "application/json"
        if path == "/readyz":
            try:
                ok = await asyncio.wait_for(self.ready(), 3)
            except Exception:
                ok = False
            if ok:
                return "200 OK", b'{"status":"ready"}', "application/json"
            return "503 Service Unavailable", b'{"status":"not_ready"}', "application/json"
        if path == "/metrics":
            body, ctype = metrics_payload()
            return "200 OK", body, ctype
        return "404 Not Found", b'{"error":"not_found"}', "application/json"
