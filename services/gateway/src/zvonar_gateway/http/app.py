"""The Litestar app: routes, dependencies, error shapes, OpenAPI, body limits.

`create_app` takes its ports (backend, account store, health) and the page's handlers;
`bootstrap.bootstrap` is the one place that calls it, with adapters or a test's fakes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from zvonar_gateway.http.auth import FAILURES_STATE_KEY, FailureLimit, KeyAuthenticator, key_guard
from zvonar_gateway.http.errors import EXCEPTION_HANDLERS
from zvonar_gateway.http.middleware import (
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
    http_metrics,
)
from zvonar_gateway.http.openapi import document_errors
from zvonar_gateway.http.position import (
    PositionMiddleware,
    document_position,
    openapi_description,
)
from zvonar_gateway.http.providers import provide_account, provide_backend
from zvonar_gateway.http.routes import (
    accounts,
    actions,
    campaigns,
    files,
    moderation,
    stoplist,
    system,
    webhooks,
)
from zvonar_gateway.service_layer.ports import Accounts, Backend, Health, RateLimits
from zvonar_gateway.settings import GatewaySettings

API_HANDLERS: list[Any] = [
    *accounts.HANDLERS,
    *campaigns.HANDLERS,
    *webhooks.HANDLERS,
    *actions.HANDLERS,
    *stoplist.HANDLERS,
    *moderation.HANDLERS,
]


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Zvonar gateway",
        version="1.0.0",
        description="The HTTP API of docs/API.md. Auth: `Authorization: Bearer <api key>`. "
        + openapi_description(),
        path="/schema",
        render_plugins=[SwaggerRenderPlugin()],
        components=Components(
            security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}
        ),
        security=[{"bearer": []}],
    )


def create_app(
    *,
    settings: GatewaySettings,
    backend: Backend,
    accounts: Accounts,
    health: Health,
    rate_limits: RateLimits,
    extra_handlers: Sequence[Any] = (),
    with_file_routes: bool = True,
    debug: bool = False,
) -> Litestar:
    state = State(
        {
            "settings": settings,
            "backend": backend,
            "accounts": accounts,
            "authenticator": KeyAuthenticator(accounts, rate_limits),
            FAILURES_STATE_KEY: FailureLimit(settings.auth_failures_per_minute),
            "health": health,
        }
    )
    handlers = [*system.HANDLERS, *API_HANDLERS, *extra_handlers]
    if with_file_routes:
        handlers += files.HANDLERS
    app = Litestar(
        route_handlers=handlers,
        dependencies={
            "account": Provide(provide_account),
            "backend": Provide(provide_backend),
        },
        guards=[key_guard],
        middleware=[http_metrics().middleware, PositionMiddleware],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi_config(),
        request_max_body_size=settings.max_body_bytes,
        state=state,
        debug=debug,
        # Litestar's default logging config replaces the root handler with a plain-text
        # one; without it every line goes through zvonar_runtime.logging's formatter.
        logging_config=None,
    )
    document_errors(app)
    document_position(app)
    # Around the whole app, not per route: unmatched paths (404/405) get a request id and
    # are counted too.
    app.asgi_handler = RequestContextMiddleware(SecurityHeadersMiddleware(app.asgi_handler))
    return app
