"""Wiring of the gateway: the only place where adapters meet the app.

`bootstrap(settings, backend=..., accounts=..., health=...)` builds the Litestar app around
the ports it is given (the process's NATS and SQL adapters, or a test's fakes); `build`
opens the adapters of a running process and calls it; `Gateway.run` serves it with uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import structlog
import uvicorn
from litestar import Litestar
from nats.aio.client import Client

from zvonar_gateway.adapters.account_cache import CachedAccountStore
from zvonar_gateway.adapters.backend import NatsBackend
from zvonar_gateway.adapters.kv_ratelimit import SharedRateLimiter
from zvonar_gateway.demo import seed_demo
from zvonar_gateway.domain.ratelimit import LocalRateLimits
from zvonar_gateway.http.app import create_app
from zvonar_gateway.http.routes.system import HealthProbe
from zvonar_gateway.service_layer.ports import Accounts, Backend, Health, RateLimits
from zvonar_gateway.settings import GatewaySettings
from zvonar_gateway.web import WEB_HANDLERS
from zvonar_runtime.db import Database
from zvonar_runtime.secrets import secrets_key

log = structlog.get_logger("zvonar.gateway")


def open_database(settings: GatewaySettings) -> Database:
    return Database.from_settings(
        settings.database_url, settings.sqlite_path("gateway"), schema="gateway"
    )


class EmbeddedServer(uvicorn.Server):
    """uvicorn inside a service process: the runner owns SIGINT/SIGTERM, so uvicorn must
    neither take the signals over nor re-raise them on the way out."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Gateway:
    settings: GatewaySettings
    db: Database
    accounts: CachedAccountStore
    backend: NatsBackend
    app: Litestar

    async def run(self) -> None:
        """Serve HTTP with uvicorn inside this process until cancelled; seed the demo once
        the server is up. Returns only if uvicorn stops on its own (which ends the process)."""
        config = uvicorn.Config(
            self.app,
            host=self.settings.http_host,
            port=self.settings.http_port,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=10,
        )
        server = EmbeddedServer(config)
        task = asyncio.create_task(server.serve())
        try:
            # uvicorn offers no start-up event to await; its `started` flag is polled.
            while not server.started and not task.done():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            if server.started:
                log.info(
                    "http_listening", host=self.settings.http_host, port=self.settings.http_port
                )
                await self.seed_demo()
            await asyncio.shield(task)
        except asyncio.CancelledError:
            server.should_exit = True
            with contextlib.suppress(Exception):
                await task
            raise

    async def seed_demo(self) -> None:
        if not self.settings.demo:
            return
        try:
            await seed_demo(self.settings, self.accounts, self.backend)
        except Exception:
            # The demo is a convenience: a failure is logged, the gateway keeps serving.
            log.exception("demo_seed_failed")


def bootstrap(
    settings: GatewaySettings,
    *,
    backend: Backend,
    accounts: Accounts,
    health: Health,
    rate_limits: RateLimits | None = None,
    web: bool = True,
    file_routes: bool = True,
    debug: bool = False,
) -> Litestar:
    """The gateway's app around its ports: the API, the file routes and (`web`) the page."""
    return create_app(
        settings=settings,
        backend=backend,
        accounts=accounts,
        health=health,
        rate_limits=rate_limits
        or LocalRateLimits(settings.rate_limit_per_second, settings.rate_limit_burst),
        extra_handlers=WEB_HANDLERS if web else (),
        with_file_routes=file_routes,
        debug=debug,
    )


async def build(settings: GatewaySettings, nc: Client) -> Gateway:
    """The running process's adapters (SQL account store, NATS backend and health probe)
    opened and plugged into `bootstrap`."""
    db = open_database(settings)
    accounts = CachedAccountStore(db, nc, replicas=settings.stream_replicas)
    await accounts.migrate()
    await accounts.start()  # the watch of account changes every replica makes
    backend = NatsBackend(
        nc,
        command_timeout=settings.command_timeout,
        query_timeout=settings.query_timeout,
        secrets_key=secrets_key(Path(settings.data_dir)),
    )
    rate_limits = SharedRateLimiter(
        nc,
        settings.rate_limit_per_second,
        settings.rate_limit_burst,
        chunk=settings.rate_limit_chunk,
        replicas=settings.stream_replicas,
    )
    app = bootstrap(
        settings,
        backend=backend,
        accounts=accounts,
        health=HealthProbe(nc),
        rate_limits=rate_limits,
    )
    return Gateway(settings=settings, db=db, accounts=accounts, backend=backend, app=app)
