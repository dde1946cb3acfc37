"""Accounts, keys, auth and the per-key rate limit over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from nats.aio.client import Client

from zvonar_gateway.adapters.accounts import AccountStore
from zvonar_gateway.adapters.backend import NatsBackend
from zvonar_gateway.bootstrap import bootstrap
from zvonar_gateway.domain.ratelimit import RateLimiter
from zvonar_gateway.http.routes.system import HealthProbe
from zvonar_gateway.settings import GatewaySettings


async def test_admin_creates_accounts_and_me_shows_the_profile(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await client.post(
        "/api/v1/accounts", json={"name": "Ромашка", "timezone": "Asia/Omsk"}, headers=admin
    )
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"id", "name", "timezone", "api_key"}
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['api_key']}"})
    assert me.json() == {"id": body["id"], "name": "Ромашка", "timezone": "Asia/Omsk"}


async def test_account_creation_needs_the_admin_token(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    for given in ({}, headers, {"Authorization": "Bearer wrong"}):
        answer = await client.post("/api/v1/accounts", json={"name": "X"}, headers=given)
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "unauthorized"
    bad_zone = await client.post(
        "/api/v1/accounts",
        json={"name": "X", "timezone": "Mars/Base"},
        headers={"Authorization": "Bearer admin-secret-token"},
    )
    assert bad_zone.status_code == 422


async def test_admin_endpoints_are_off_without_a_token(
    nc: Client, accounts: AccountStore, tmp_path: Path
) -> None:
    app = bootstrap(
        settings=GatewaySettings(data_dir=tmp_path),
        backend=NatsBackend(nc),
        accounts=accounts,
        health=HealthProbe(nc),
        web=False,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:  # type: ignore[arg-type]  # Litestar's scope types
        answer = await c.post(
            "/api/v1/accounts", json={"name": "X"}, headers={"Authorization": "Bearer "}
        )
        assert answer.status_code == 404
        queue = await c.get("/api/v1/moderation/queue", headers={"Authorization": "Bearer x"})
        assert queue.status_code == 404


async def test_patch_me_validates_the_zone(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    bad = await client.patch("/api/v1/me", json={"timezone": "Europe/Atlantis"}, headers=headers)
    assert bad.status_code == 422
    assert bad.json()["error"]["details"] == [
        {"field": "timezone", "message": "an IANA timezone such as Europe/Moscow"}
    ]
    wrong_type = await client.patch("/api/v1/me", json={"timezone": 5}, headers=headers)
    assert wrong_type.status_code == 422
    assert wrong_type.json()["error"]["details"][0]["field"] == "timezone"
    # Issue 18 point 11: zoneinfo loads these, yet none is a zone a customer lives in.
    for unreal in ("localtime", "Factory", "posixrules", "W-SU", "US/Eastern", "Etc/GMT-3"):
        refused = await client.patch("/api/v1/me", json={"timezone": unreal}, headers=headers)
        assert refused.status_code == 422, unreal
        assert refused.json()["error"]["details"][0]["field"] == "timezone"
    good = await client.patch("/api/v1/me", json={"timezone": "Asia/Tokyo"}, headers=headers)
    assert good.status_code == 200 and good.json()["timezone"] == "Asia/Tokyo"
    assert (await client.get("/api/v1/me", headers=headers)).json()["timezone"] == "Asia/Tokyo"


async def test_rotation_replaces_the_key(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    rotated = await client.post("/api/v1/me/keys/rotate", headers=headers)
    assert rotated.status_code == 200
    new = rotated.json()["api_key"]
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    assert (
        await client.get("/api/v1/me", headers={"Authorization": f"Bearer {new}"})
    ).status_code == 200


async def test_missing_or_wrong_key_is_401_in_the_error_shape(client: httpx.AsyncClient) -> None:
    for given in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer nope"}):
        answer = await client.get("/api/v1/campaigns", headers=given)
        assert answer.status_code == 401
        assert set(answer.json()["error"]) == {"code", "message", "details"}


async def test_over_the_rate_limit_is_429_with_retry_after(
    nc: Client, accounts: AccountStore, tmp_path: Path
) -> None:
    settings = GatewaySettings(data_dir=tmp_path, rate_limit_per_second=1, rate_limit_burst=3)
    app = bootstrap(
        settings=settings,
        backend=NatsBackend(nc),
        accounts=accounts,
        health=HealthProbe(nc),
        web=False,
    )
    _, key = await accounts.create("A", "Europe/Moscow")
    _, other = await accounts.create("B", "Europe/Moscow")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:  # type: ignore[arg-type]  # Litestar's scope types
        codes = [
            (await c.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})).status_code
            for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        limited = await c.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
        assert limited.headers["retry-after"] == "1"
        assert limited.json()["error"]["code"] == "rate_limited"
        # The limit is per key: another account is not slowed down.
        assert (
            await c.get("/api/v1/me", headers={"Authorization": f"Bearer {other}"})
        ).status_code == 200


def test_token_bucket_refills_at_the_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=50, burst=200, clock=lambda: now[0])
    assert all(limiter.acquire("k") == 0.0 for _ in range(200))
    wait = limiter.acquire("k")
    assert 0 < wait <= 0.02
    now[0] += 1.0  # one second: 50 more requests
    assert sum(limiter.acquire("k") == 0.0 for _ in range(60)) == 50


async def test_request_id_is_echoed(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    answer = await client.get("/api/v1/me", headers={**headers, "X-Request-Id": "req-42"})
    assert answer.headers["x-request-id"] == "req-42"


async def test_request_id_travels_in_nats_headers(
    client: httpx.AsyncClient, headers: dict[str, str], nc: Client
) -> None:
    seen: list[Any] = []

    async def spy(msg: Any) -> None:
        seen.append(msg.headers)

    sub = await nc.subscribe("stats.query.ListCampaigns", cb=spy)
    await client.get("/api/v1/campaigns", headers={**headers, "X-Request-Id": "trace-7"})
    await sub.unsubscribe()
    assert any(h and h.get("Zvonar-Correlation-Id") == "trace-7" for h in seen)


def test_idle_keys_are_forgotten_when_the_table_is_full() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=10, burst=10, clock=lambda: now[0], max_keys=3)
    for key in ("a", "b", "c"):
        limiter.acquire(key)
    now[0] += 5.0  # every bucket has refilled
    assert limiter.acquire("d") == 0.0
    assert len(limiter._buckets) == 1


async def test_the_key_is_checked_before_the_body_is_read(client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/stop-list", "/api/v1/campaigns", "/api/v1/campaigns/delete"):
        answer = await client.post(path, content=b"{", headers={"Content-Type": "application/json"})
        assert answer.status_code == 401, (path, answer.text)
    patched = await client.patch(
        "/api/v1/me", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert patched.status_code == 401
