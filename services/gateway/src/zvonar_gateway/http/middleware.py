"""Raw ASGI middleware: a correlation id per request (from `X-Request-Id` or new), bound to
logs and NATS headers and echoed back, and a log line per request; the security headers of
every response. HTTP metrics come from Litestar's Prometheus plugin (`http_metrics`)."""

from __future__ import annotations

import abc
import re
import time
from typing import Any

import structlog
from litestar.enums import ScopeType
from litestar.plugins.prometheus import PrometheusConfig, PrometheusMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from zvonar_contracts.limits import MAX_REQUEST_ID
from zvonar_runtime.correlation import correlation_scope

log = structlog.get_logger("zvonar.gateway.http")
_SAFE_ID = re.compile(rf"^[A-Za-z0-9._:-]{{1,{MAX_REQUEST_ID}}}$")


HTTP_SECONDS_BUCKETS: list[str | float] = [
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
]


class HttpMetricsMiddleware(PrometheusMiddleware):
    """Litestar's Prometheus middleware without its `app_name` label (the scrape's `job`
    says which service a series comes from): `zvonar_http_requests_total`,
    `zvonar_http_request_duration_seconds`, `zvonar_http_requests_error_total` (5xx) and
    `zvonar_http_requests_in_progress`, labelled by method, route template and status."""

    def _get_default_labels(self, request: Any) -> dict[str, str | int | float]:
        labels = super()._get_default_labels(request)
        labels.pop("app_name", None)
        return labels


def http_metrics() -> PrometheusConfig:
    """The plugin's settings: the route template as `path` (one series per route, not per
    campaign id); /metrics itself not counted. It runs inside routing, so a path no route
    matches (a 404 or 405 of the router) is not counted — its `http_request` log line is."""
    return PrometheusConfig(
        prefix="zvonar_http",
        group_path=True,
        middleware_class=HttpMetricsMiddleware,
        buckets=HTTP_SECONDS_BUCKETS,
        exclude=["^/metrics$"],
    )


class HttpMiddleware(abc.ABC):
    """Raw ASGI middleware that acts on HTTP requests (`http`); anything else passes through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    @abc.abstractmethod
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None: ...


class RequestContextMiddleware(HttpMiddleware):
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _SAFE_ID.match(given) else None
        started = time.perf_counter()
        status_holder = {"status": 500}
        with correlation_scope(request_id) as cid:

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status_holder["status"] = message["status"]
                    headers = list(message.get("headers") or [])
                    headers.append((b"x-request-id", cid.encode("latin-1")))
                    message["headers"] = headers
                await send(message)

            try:
                await self.app(scope, receive, send_with_id)
            finally:
                elapsed = time.perf_counter() - started
                log.info(
                    "http_request",
                    method=scope.get("method"),
                    path=scope.get("path"),
                    status=status_holder["status"],
                    ms=round(elapsed * 1000, 1),
                )


# The page loads its scripts and styles from /static only (htmx, Chart.js, app.js, app.css;
# no inline script, style or event attribute): nothing inline and nothing from elsewhere runs.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Litestar's Swagger UI page (/schema/swagger) is an inline script over the swagger-ui
# bundle on its CDN: allowed there, and only there.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://cdn.jsdelivr.net; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_COMMON_HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


class SecurityHeadersMiddleware(HttpMiddleware):
    """Content-Security-Policy, X-Frame-Options, X-Content-Type-Options and Referrer-Policy
    on every response: API, pages, static files, errors and unmatched paths."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        csp = DOCS_CSP if str(scope.get("path", "")).startswith("/schema") else PAGE_CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers") or []
                    if name.lower() not in _REPLACED
                ]
                headers.append((b"content-security-policy", csp.encode("latin-1")))
                headers.extend(_COMMON_HEADERS)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


_REPLACED = frozenset({b"content-security-policy", *(name for name, _ in _COMMON_HEADERS)})
