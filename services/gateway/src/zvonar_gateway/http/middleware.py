"""Raw ASGI middleware: a correlation id per request (from `X-Request-Id` or new), bound to
logs and NATS headers and echoed back; HTTP metrics by route template and status; the
security headers of every response."""

from __future__ import annotations

import re
import time

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from zvonar_contracts.limits import MAX_REQUEST_ID
from zvonar_runtime.correlation import correlation_scope
from zvonar_runtime.metrics import HTTP_REQUESTS, HTTP_SECONDS

log = structlog.get_logger("zvonar.gateway.http")
_SAFE_ID = re.compile(rf"^[A-Za-z0-9._:-]{{1,{MAX_REQUEST_ID}}}$")


def _route_of(scope: Scope) -> str:
    # The route template, not the path: one series per route, not per campaign id.
    template = scope.get("path_template")  # type: ignore[misc]
    return str(template) if template else "unmatched"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
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
                route = _route_of(scope)
                elapsed = time.perf_counter() - started
                HTTP_REQUESTS.labels(route=route, status=str(status_holder["status"])).inc()
                HTTP_SECONDS.labels(route=route).observe(elapsed)
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


class SecurityHeadersMiddleware:
    """Content-Security-Policy, X-Frame-Options, X-Content-Type-Options and Referrer-Policy
    on every response: API, pages, static files, errors and unmatched paths."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
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
