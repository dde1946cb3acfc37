"""Fixtures for the web page's tests: the gateway app with the web handlers, on a real
nats-server, with the campaign and stats doubles of the gateway's own tests, and an
account store on SQLite."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from nats.aio.client import Client

from tests.integration.gateway_api.conftest import ADMIN, FakeServices, make_settings, start_doubles
from zvonar_gateway.adapters.accounts import AccountStore
from zvonar_gateway.adapters.backend import NatsBackend
from zvonar_gateway.bootstrap import bootstrap
from zvonar_gateway.domain.account import Account
from zvonar_gateway.http.routes.system import HealthProbe
from zvonar_runtime.db import Database

__all__ = ["ADMIN", "csrf_of"]

_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found, "the page carries no CSRF token"
    return found.group(1)


@pytest.fixture
async def services(nc: Client) -> AsyncIterator[FakeServices]:
    fake, subs = await start_doubles(nc)
    yield fake
    for sub in subs:
        await sub.unsubscribe()


@pytest.fixture
async def accounts(tmp_path: Path) -> AsyncIterator[AccountStore]:
    db = Database(dialect="sqlite", sqlite_path=tmp_path / "gateway.sqlite3")
    store = AccountStore(db)
    await store.migrate()
    yield store
    await db.aclose()


@pytest.fixture
async def web(
    nc: Client, services: FakeServices, accounts: AccountStore, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client (keeps cookies) on the app; not signed in."""
    app = bootstrap(
        settings=make_settings(tmp_path),
        backend=NatsBackend(nc, command_timeout=1.0, query_timeout=1.0),
        accounts=accounts,
        health=HealthProbe(nc, ttl=0.0, timeout=0.2),
    )
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


@pytest.fixture
async def account(accounts: AccountStore) -> tuple[Account, str]:
    return await accounts.create("Тест", "Europe/Moscow")


@pytest.fixture
async def signed_in(web: httpx.AsyncClient, account: tuple[Account, str]) -> str:
    """Sign the client in with the account's key; returns the session's CSRF token."""
    page = await web.get("/")
    answer = await web.post("/sign-in", data={"_csrf": csrf_of(page.text), "api_key": account[1]})
    assert answer.status_code == 303, answer.text
    home = await web.get("/")
    assert home.status_code == 200
    return csrf_of(home.text)
