"""The metrics every service shares (messages, consumers, parking), and the monitor server
on ZVONAR_MONITOR_PORT: `/healthz` (liveness), `/readyz` (readiness: connected to NATS and
its database) and `/metrics`, served by prometheus_client's own WSGI app in a thread of its
own (a scrape never waits for the event loop; only /readyz asks it, for the readiness
checks).

Names follow Prometheus conventions: `zvonar_<thing>_<unit>`, counters end in `_total`,
durations are `_seconds` histograms, base units. No label repeats the service: the scrape's
`job` and `instance` say which process a series comes from. Every label here has a bounded
set of values (a consumer or stream name, an outcome, a reason), never an id.

A service's own metrics live in that service (`zvonar_<service>/metrics.py`).
deploy/observability/ has the Grafana dashboard and the alert rules built on these; a test
(tests/e2e/test_observability.py) checks that every name they use is exposed.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.registry import CollectorRegistry

# --- messages (every service, per subscriber) --------------------------------------------
MESSAGES_PROCESSED = Counter(
    "zvonar_messages_processed_total",
    "Messages and requests handled successfully, per consumer (subject with ids left out)",
    ["consumer"],
)
MESSAGES_FAILED = Counter(
    "zvonar_messages_failed_total",
    "Messages whose handler raised (nacked for redelivery), per consumer",
    ["consumer"],
)
MESSAGE_SECONDS = Histogram(
    "zvonar_message_handling_duration_seconds",
    "Time to handle one message or request, per consumer",
    ["consumer"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
CONSUMER_LAG = Gauge(
    "zvonar_consumer_lag_messages",
    "Messages in the stream not yet delivered to a durable consumer (JetStream num_pending)",
    ["stream", "consumer"],
)
CONSUMER_ACK_PENDING = Gauge(
    "zvonar_consumer_ack_pending_messages",
    "Messages delivered to a durable consumer and not yet acknowledged",
    ["stream", "consumer"],
)
MESSAGES_PARKED = Counter(
    "zvonar_messages_parked_total",
    "Messages set aside in a parked table (never published or never applied), per stream "
    "and reason",
    ["stream", "reason"],
)
MESSAGES_TOO_LARGE = Counter(
    "zvonar_messages_too_large_total",
    "Messages never sent because they would exceed the server's max payload, per kind",
    ["kind"],
)

ReadyCheck = Callable[[], Awaitable[bool]]
READY_TIMEOUT_S = 3.0


class _Server(ThreadingMixIn, WSGIServer):
    """A thread per request (a slow readiness check never holds up a scrape)."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    """No access log line per probe and scrape (wsgiref writes them to stderr)."""

    def log_message(self, format: str, *args: Any) -> None:
        return


def _family(host: str, port: int) -> socket.AddressFamily:
    info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    return info[0][0]


StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def _json(start_response: StartResponse, status: str, body: bytes) -> Iterable[bytes]:
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


class Monitor:
    """Liveness, readiness and metrics over HTTP on host:port, in a thread of its own:
    prometheus_client's WSGI app for /metrics, two routes in front of it."""

    def __init__(
        self, host: str, port: int, ready: ReadyCheck, registry: CollectorRegistry = REGISTRY
    ) -> None:
        self.host = host
        self.port = port
        self.ready = ready
        self._metrics = make_wsgi_app(registry)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()

        class Server(_Server):
            address_family = _family(self.host, self.port)

        self._server = make_server(self.host, self.port, self._app, Server, _QuietHandler)
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="zvonar-monitor", daemon=True
        )
        self._thread.start()

    async def stop(self) -> None:
        if self._server is None:
            return
        server, self._server = self._server, None
        await asyncio.to_thread(server.shutdown)
        server.server_close()

    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if path == "/metrics":
            return self._metrics(environ, start_response)  # type: ignore[no-any-return]
        if path == "/healthz":
            return _json(start_response, "200 OK", b'{"status":"alive"}')
        if path == "/readyz":
            if self._is_ready():
                return _json(start_response, "200 OK", b'{"status":"ready"}')
            return _json(start_response, "503 Service Unavailable", b'{"status":"not_ready"}')
        return _json(
            start_response,
            "404 Not Found",
            b'{"error":{"code":"not_found","message":"/healthz, /readyz or /metrics"}}',
        )

    def _is_ready(self) -> bool:
        """The readiness checks, run on the service's event loop (they use its clients)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return False

        async def check() -> bool:
            return await asyncio.wait_for(self.ready(), READY_TIMEOUT_S)

        try:
            future = asyncio.run_coroutine_threadsafe(check(), loop)
        except RuntimeError:  # the loop is closing
            return False
        try:
            return bool(future.result(READY_TIMEOUT_S + 1))
        except Exception:
            future.cancel()
            return False
