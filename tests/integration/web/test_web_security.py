"""Issue 14 point 6: web sessions that sign-out and a new admin token really end, a
rotated key that sends the page to sign-in (never a 500), a limit on failed admin tokens and
sign-ins per client address, the cookie's Secure flag, and the security headers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from nats.aio.client import Client
from nats.js.errors import BucketNotFoundError, NoKeysError

from tests.integration.gateway_api.conftest import FakeServices, make_settings
from tests.integration.web.conftest import ADMIN, csrf_of
from zvonar_contracts.subjects import REVOKED_SESSIONS_BUCKET
from zvonar_gateway.adapters.accounts import AccountStore
from zvonar_gateway.adapters.backend import NatsBackend
from zvonar_gateway.bootstrap import bootstrap
from zvonar_gateway.domain.account import Account
from zvonar_gateway.http.auth import FailureLimit
from zvonar_gateway.http.routes.system import HealthProbe
from zvonar_gateway.service_layer.errors import ApiError
from zvonar_runtime.jetstream import connect

HTMX = {"HX-Request": "true"}
SESSION_COOKIE = "zvonar_session"


def gateway(nc: Client, accounts: AccountStore, tmp_path: Path, **overrides: Any) -> Litestar:
    """Another gateway process (a replica, or the same one restarted) on the same NATS,
    account store and data dir: the web fixture's app is one of these."""
    return bootstrap(
        settings=make_settings(tmp_path, **overrides),
        backend=NatsBackend(nc, command_timeout=1.0, query_timeout=1.0),
        accounts=accounts,
        health=HealthProbe(nc, ttl=0.0, timeout=0.2),
    )


@asynccontextmanager
async def browser(
    app: Litestar, address: str = "127.0.0.1", cookies: httpx.Cookies | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1", cookies=cookies
    ) as client:
        yield client


async def sign_in_with(client: httpx.AsyncClient, key: str) -> httpx.Response:
    page = await client.get("/")
    return await client.post("/sign-in", data={"_csrf": csrf_of(page.text), "api_key": key})


def copy_of(cookies: httpx.Cookies) -> httpx.Cookies:
    copied = httpx.Cookies()
    for cookie in cookies.jar:
        copied.jar.set_cookie(cookie)
    return copied


async def revoked_ids(nc: Client) -> set[str]:
    """The session ids in the revoked bucket (the test nats-server is shared by the run)."""
    try:
        kv = await nc.jetstream().key_value(REVOKED_SESSIONS_BUCKET)
        return set(await kv.keys())
    except (BucketNotFoundError, NoKeysError):
        return set()


def is_sign_in_page(answer: httpx.Response) -> bool:
    return answer.status_code == 200 and 'name="api_key"' in answer.text


# --- sign-out revokes the session -------------------------------------------------------------


async def test_a_copied_cookie_is_refused_after_sign_out_on_every_replica(
    nc: Client,
    web: httpx.AsyncClient,
    signed_in: str,
    services: FakeServices,
    accounts: AccountStore,
    tmp_path: Path,
) -> None:
    copied = copy_of(web.cookies)
    replica = gateway(nc, accounts, tmp_path)
    async with browser(replica, cookies=copy_of(copied)) as other:
        # Before sign-out the copy works, here and on another replica.
        assert (await other.get("/profile")).status_code == 200

    before = await revoked_ids(nc)
    signed_out = await web.post("/sign-out", data={"_csrf": signed_in})
    assert signed_out.status_code == 303
    assert SESSION_COOKIE not in web.cookies  # the browser's own cookie is cleared

    # The copy of the cookie taken before sign-out: refused by the same gateway ...
    web.cookies = copy_of(copied)
    assert (await web.get("/profile")).status_code == 303
    web.cookies = copy_of(copied)
    assert is_sign_in_page(await web.get("/"))
    # ... by another replica, and by a gateway started afresh (the revocation is in NATS).
    for app in (replica, gateway(nc, accounts, tmp_path)):
        async with browser(app, cookies=copy_of(copied)) as other:
            refused = await other.get("/profile")
            assert refused.status_code == 303 and refused.headers["location"] == "/"
            fragment = await other.get("/campaigns/table", headers=HTMX)
            assert fragment.headers.get("hx-redirect") == "/"
    # The revocation is one key more in the bucket named in the contracts.
    assert len(await revoked_ids(nc) - before) == 1


async def test_signing_in_again_after_sign_out_works(
    web: httpx.AsyncClient, signed_in: str, account: tuple[Account, str]
) -> None:
    await web.post("/sign-out", data={"_csrf": signed_in})
    assert (await sign_in_with(web, account[1])).status_code == 303
    assert (await web.get("/profile")).status_code == 200


async def test_a_session_is_not_let_in_while_the_session_store_is_unreachable(
    nats_url: str, web: httpx.AsyncClient, signed_in: str, accounts: AccountStore, tmp_path: Path
) -> None:
    cut_off = await connect(nats_url, "gateway-cut-off")
    app = bootstrap(
        settings=make_settings(tmp_path),
        backend=NatsBackend(cut_off, command_timeout=1.0, query_timeout=1.0),
        accounts=accounts,
        health=HealthProbe(cut_off, ttl=0.0, timeout=0.2),
    )
    await cut_off.close()  # NATS gone: whether the session was signed out is unknown
    async with browser(app, cookies=copy_of(web.cookies)) as client:
        answer = await client.get("/profile")
    assert answer.status_code == 503, answer.text[:300]
    assert "Сервис временно недоступен" in answer.text and "Профиль" not in answer.text


# --- the moderator's session and the admin token ---------------------------------------------


async def test_a_new_admin_token_signs_the_moderator_out(
    nc: Client, web: httpx.AsyncClient, accounts: AccountStore, tmp_path: Path
) -> None:
    answer = await sign_in_with(web, ADMIN)
    assert answer.status_code == 303 and answer.headers["location"] == "/moderation"
    assert (await web.get("/moderation")).status_code == 200
    cookies = copy_of(web.cookies)

    # The same token after a restart: still signed in.
    async with browser(gateway(nc, accounts, tmp_path), cookies=copy_of(cookies)) as same:
        assert (await same.get("/moderation")).status_code == 200
    # ZVONAR_ADMIN_TOKEN changed: the session is over, on every page.
    changed = gateway(nc, accounts, tmp_path, admin_token="a-brand-new-admin-token")
    async with browser(changed, cookies=copy_of(cookies)) as after:
        refused = await after.get("/moderation")
        assert refused.status_code == 303 and refused.headers["location"] == "/"
    async with browser(changed, cookies=copy_of(cookies)) as after:
        assert is_sign_in_page(await after.get("/"))
    # No admin token at all: the moderator's page is closed too.
    async with browser(gateway(nc, accounts, tmp_path, admin_token=None), cookies=cookies) as off:
        assert (await off.get("/moderation")).status_code == 303


# --- a key rotated elsewhere -------------------------------------------------------------------


async def test_a_rotated_key_sends_every_page_to_sign_in_never_a_500(
    web: httpx.AsyncClient, signed_in: str, accounts: AccountStore, account: tuple[Account, str]
) -> None:
    await accounts.rotate_key(account[0].id)
    home = await web.get("/")
    assert is_sign_in_page(home), (home.status_code, home.text[:300])

    for path in ("/", "/profile", "/stop-list", "/campaigns/new", "/campaigns/1000001/report"):
        await accounts.rotate_key(account[0].id)
        fresh = await accounts.rotate_key(account[0].id)
        assert (await sign_in_with(web, fresh)).status_code == 303
        await accounts.rotate_key(account[0].id)
        answer = await web.get(path)
        assert answer.status_code in (200, 303), (path, answer.status_code)
        if answer.status_code == 303:
            assert answer.headers["location"] == "/", path
        else:
            assert is_sign_in_page(answer), path
        table = await web.get("/campaigns/table", headers=HTMX)
        assert table.headers.get("hx-redirect") == "/"


# --- failures per client address ---------------------------------------------------------------


async def test_wrong_admin_tokens_are_limited_per_client_address(
    nc: Client,
    services: FakeServices,
    accounts: AccountStore,
    account: tuple[Account, str],
    tmp_path: Path,
) -> None:
    app = gateway(nc, accounts, tmp_path)
    good = {"Authorization": f"Bearer {ADMIN}"}
    async with browser(app, "203.0.113.7") as attacker, browser(app, "198.51.100.2") as admin:
        # A customer's own key on the moderator's endpoints: 401 each time, but no guess,
        # so it does not lock the address (an office may share it with the moderator).
        customer = {"Authorization": f"Bearer {account[1]}"}
        for _ in range(15):
            answer = await admin.get("/api/v1/moderation/queue", headers=customer)
            assert answer.status_code == 401
        assert (await admin.get("/api/v1/moderation/queue", headers=good)).status_code == 200
        codes = []
        for i in range(20):
            answer = await attacker.get(
                "/api/v1/moderation/queue", headers={"Authorization": f"Bearer guess-{i}"}
            )
            codes.append(answer.status_code)
        assert codes == [401] * 10 + [429] * 10
        limited = await attacker.post(
            "/api/v1/accounts", json={"name": "X"}, headers={"Authorization": "Bearer guess"}
        )
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json() == {
            "error": {
                "code": "rate_limited",
                "message": "too many failed sign-ins from this address; try again later",
                "details": [],
            }
        }
        # Even the right token is refused from that address until the limit refills...
        assert (await attacker.get("/api/v1/moderation/queue", headers=good)).status_code == 429
        # ... while another client is not touched, and nothing was created meanwhile.
        assert (await admin.get("/api/v1/moderation/queue", headers=good)).status_code == 200
        assert (
            await admin.post("/api/v1/accounts", json={"name": "Y"}, headers=good)
        ).status_code == 201
    assert services.commands == []


async def test_wrong_keys_at_sign_in_are_limited_per_client_address(
    nc: Client, accounts: AccountStore, account: tuple[Account, str], tmp_path: Path
) -> None:
    app = gateway(nc, accounts, tmp_path)
    async with browser(app, "203.0.113.9") as attacker, browser(app, "198.51.100.3") as user:
        page = await attacker.get("/")
        token = csrf_of(page.text)
        codes = []
        for i in range(12):
            guess = ADMIN + "x" if i % 2 else f"zv_guess_{i}"
            answer = await attacker.post("/sign-in", data={"_csrf": token, "api_key": guess})
            codes.append(answer.status_code)
        assert codes == [401] * 10 + [429] * 2
        refused = await attacker.post("/sign-in", data={"_csrf": token, "api_key": account[1]})
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert "Слишком много неудачных попыток входа" in refused.text
        assert (await attacker.get("/profile")).status_code == 303  # not signed in
        assert (await sign_in_with(user, account[1])).status_code == 303
        assert (await user.get("/profile")).status_code == 200


def test_the_failure_limit_refills_over_a_minute() -> None:
    now = [0.0]
    limit = FailureLimit(10, clock=lambda: now[0])
    for _ in range(10):
        limit.check("a")
        limit.failed("a")
    with pytest.raises(ApiError) as raised:
        limit.check("a")
    assert raised.value.status_code == 429 and raised.value.headers["Retry-After"] == "6"
    limit.check("b")  # another address
    now[0] += 6.0  # one failure's worth
    limit.check("a")
    limit.failed("a")
    with pytest.raises(ApiError):
        limit.check("a")
    now[0] += 60.0
    for _ in range(10):
        limit.check("a")
        limit.failed("a")


# --- the cookie --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "secure"),
    [
        ({}, False),  # the test gateway listens on 127.0.0.1: plain HTTP on loopback
        ({"http_host": "0.0.0.0"}, True),
        ({"http_host": "0.0.0.0", "cookie_secure": False}, False),
        ({"cookie_secure": True}, True),
    ],
)
async def test_the_cookie_is_secure_unless_served_on_loopback(
    nc: Client, accounts: AccountStore, tmp_path: Path, overrides: dict[str, Any], secure: bool
) -> None:
    async with browser(gateway(nc, accounts, tmp_path, **overrides)) as client:
        answer = await client.get("/")
        switched = await client.get("/lang/en")
    cookie = next(
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and SESSION_COOKIE in v
    ).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert ("; secure" in cookie) is secure
    lang = next(
        v for k, v in switched.headers.multi_items() if k == "set-cookie" and "zvonar_lang" in v
    ).lower()
    assert "zvonar_lang=en" in lang and ("; secure" in lang) is secure


async def test_the_session_secret_setting_is_shared_by_replicas(
    nc: Client, accounts: AccountStore, account: tuple[Account, str], tmp_path: Path
) -> None:
    first = gateway(nc, accounts, tmp_path / "one", session_secret="shared-secret-1")
    second = gateway(nc, accounts, tmp_path / "two", session_secret="shared-secret-1")
    other = gateway(nc, accounts, tmp_path / "three", session_secret="another-secret")
    async with browser(first) as client:
        assert (await sign_in_with(client, account[1])).status_code == 303
        cookies = copy_of(client.cookies)
    async with browser(second, cookies=copy_of(cookies)) as client:
        assert (await client.get("/profile")).status_code == 200
    async with browser(other, cookies=cookies) as client:
        assert is_sign_in_page(await client.get("/"))


# --- security headers --------------------------------------------------------------------------


def assert_security_headers(answer: httpx.Response) -> None:
    csp = answer.headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, answer.url
    assert answer.headers.get("x-frame-options") == "DENY", answer.url
    assert answer.headers.get("x-content-type-options") == "nosniff", answer.url
    assert answer.headers.get("referrer-policy") == "same-origin", answer.url


async def test_security_headers_on_api_pages_static_and_errors(
    web: httpx.AsyncClient, signed_in: str
) -> None:
    answers = [
        await web.get("/"),
        await web.get("/profile"),
        await web.get("/campaigns/table", headers=HTMX),
        await web.get("/static/web/app.js"),
        await web.get("/static/web/htmx.min.js"),
        await web.get("/api/v1/me"),  # 401 JSON
        await web.get("/healthz"),  # 503: no campaign or stats service here
        await web.get("/no/such/path"),  # 404
        await web.post("/sign-out", data={"_csrf": "wrong"}),  # 403 page
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 200, 401, 503, 404, 403]
    for answer in answers:
        assert_security_headers(answer)
    page_csp = answers[0].headers["content-security-policy"]
    # The page itself: nothing inline may run.
    assert "'unsafe-inline'" not in page_csp and "'unsafe-eval'" not in page_csp
    assert "script-src 'self';" in page_csp and "style-src 'self';" in page_csp


async def test_pages_carry_no_inline_script_style_or_handler(
    web: httpx.AsyncClient, signed_in: str, services: FakeServices
) -> None:
    for path in ("/", "/profile", "/stop-list", "/campaigns/new"):
        text = (await web.get(path)).text
        assert "<style" not in text and "style=" not in text, path
        assert " onsubmit=" not in text and " onclick=" not in text, path
        scripts = text.split("<script")[1:]
        assert scripts and all(s.lstrip().startswith("src=") for s in scripts), path
