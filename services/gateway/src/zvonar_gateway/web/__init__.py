"""The web page "Рассылки", served by the gateway: server-rendered Jinja2 templates with
htmx, a cookie session and CSRF tokens, Russian by default with an English switch.

`WEB_HANDLERS` is what `bootstrap(..., web=True)` plugs into the app: one router for the pages
(with the session middleware and HTML error pages of its own) and the static files.
"""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.static_files import create_static_files_router

from zvonar_gateway.web import (
    auth_routes,
    create_routes,
    errors,
    list_routes,
    moderation_routes,
    profile_routes,
    report_routes,
)
from zvonar_gateway.web.render import STATIC
from zvonar_gateway.web.session import WebSessionMiddleware

PAGE_HANDLERS: list[Any] = [
    *auth_routes.HANDLERS,
    *list_routes.HANDLERS,
    *create_routes.HANDLERS,
    *report_routes.HANDLERS,
    *profile_routes.HANDLERS,
    *moderation_routes.HANDLERS,
]


def web_router() -> Router:
    return Router(
        path="/",
        route_handlers=PAGE_HANDLERS,
        middleware=[WebSessionMiddleware],
        exception_handlers=errors.EXCEPTION_HANDLERS,
        include_in_schema=False,
    )


WEB_HANDLERS: list[Any] = [
    web_router(),
    create_static_files_router(path="/static/web", directories=[STATIC], include_in_schema=False),
]
