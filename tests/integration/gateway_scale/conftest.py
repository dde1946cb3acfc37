"""Two gateway replicas as they run behind a load balancer: each its own app, its own NATS
connection and its own connection pool to the one PostgreSQL account store, the same
session secret; the campaign and stats doubles of the gateway's tests answer both."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from nats.aio.client import Client

from tests.integration.gateway_api.conftest import ADMIN, FakeServices, make_settings, start_doubles
from zvonar_gateway.adapters.account_cache import CachedAccountStore
from zvonar_gateway.adapters.backend import NatsBackend
from zvonar_gateway.adapters.kv_ratelimit import SharedRateLimiter
from zvonar_gateway.bootstrap import bootstrap
from zvonar_gateway.http.routes.system import HealthProbe
from zvonar_runtime.db import Database
from zvonar_runtime.jetstream import connect

__all__ = ["ADMIN", "Replica"]

SESSION_SECRET = "the-same-secret-on-every-replica"


@dataclass
class Replica:
    name: str
    nc: Client
    accounts: CachedAccountStore
    backend: NatsBackend
    http: httpx.AsyncClient

    def client(self, cookies: httpx.Cookies | None = None) -> httpx.AsyncClient:
        """Another client (a browser, say) of this replica."""
        return httpx.AsyncClient(
            transport=self.http._transport, base_url="http://127.0.0.1", cookies=cookies
        )


@pytest.fixture
async def services(nc: Client) -> AsyncIterator[FakeServices]:
    fake, subs = await start_doubles(nc)
    yield fake
    for sub in subs:
        await sub.unsubscribe()


ReplicasFactory = Callable[..., Awaitable[list[Replica]]]


@pytest.fixture
async def make_replicas(
    nats_url: str,
    services: FakeServices,
    pg_database_factory: Callable[[], str],
    tmp_path: Path,
) -> AsyncIterator[ReplicasFactory]:
    """`await make_replicas(2, **settings)`: replicas sharing one account database."""
    database_url = pg_database_factory()
    async with AsyncExitStack() as stack:

        async def make(count: int = 2, **overrides: Any) -> list[Replica]:
            replicas = []
            for index in range(count):
                name = "ab"[index] if count <= 2 else str(index)
                nc = await connect(nats_url, f"gateway-{name}")
                stack.push_async_callback(nc.close)
                db = Database(
                    dialect="postgres", postgres_url=database_url, schema="gateway", workers=2
                )
                stack.push_async_callback(db.aclose)
                accounts = CachedAccountStore(db, nc)
                await accounts.migrate()
                stack.push_async_callback(accounts.aclose)
                backend = NatsBackend(nc, command_timeout=2.0, query_timeout=2.0)
                # Each replica its own data dir: what they share they share by settings.
                data_dir = tmp_path / f"replica-{name}"
                settings = make_settings(data_dir, session_secret=SESSION_SECRET, **overrides)
                rate_limits = SharedRateLimiter(
                    nc,
                    settings.rate_limit_per_second,
                    settings.rate_limit_burst,
                    chunk=settings.rate_limit_chunk,
                )
                app = bootstrap(
                    settings,
                    backend=backend,
                    accounts=accounts,
                    health=HealthProbe(nc, ttl=0.0, timeout=0.2),
                    rate_limits=rate_limits,
                )
                transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # Litestar's scope types
                http = await stack.enter_async_context(
                    httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")
                )
                replicas.append(Replica(name, nc, accounts, backend, http))
            return replicas

        yield make
