"""Hostile input at the gateway (docs/API.md "Limits and hostile input"): text that is not
UTF-8 is a 400 on every endpoint, webhook URLs on private addresses are refused, date
bounds at the ends of the calendar are a 422, and a refused create leaves no phone base in
the object store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from nats.aio.client import Client
from nats.js.errors import NotFoundError

from tests.integration.gateway_api.conftest import FakeServices, make_settings
from zvonar_contracts.commands import CreateCampaign
from zvonar_contracts.subjects import PHONE_BASES_BUCKET
from zvonar_gateway.adapters.accounts import AccountStore
from zvonar_gateway.adapters.backend import NatsBackend
from zvonar_gateway.bootstrap import bootstrap
from zvonar_gateway.http.routes.system import HealthProbe

TTS = {"kind": "tts", "text": "Здравствуйте"}
JSON = {"Content-Type": "application/json"}

# Every body-taking endpoint, with a JSON body whose one string is not UTF-8.
NOT_UTF8: list[tuple[str, str, bytes, bool]] = [
    (
        "POST",
        "/api/v1/campaigns",
        b'{"phones": ["+79161234567"], "audio": {"kind": "tts", "text": "\xff\xfe"}}',
        False,
    ),
    ("POST", "/api/v1/stop-list", b'{"phones": ["+7916\xc3"]}', False),
    ("PATCH", "/api/v1/me", b'{"timezone": "Europe/\xd0"}', False),
    ("PUT", "/api/v1/campaigns/1000001/comment", b'{"text": "\xed\xa0\x80"}', False),
    ("POST", "/api/v1/campaigns/delete", b'{"ids": [1], "\xff": 1}', False),
    ("POST", "/api/v1/campaigns/export", b'{"ids": [1], "format": "\xe2\x82"}', False),
    ("POST", "/api/v1/accounts", b'{"name": "\xc0\xaf"}', True),
    ("POST", "/api/v1/moderation/1000001/reject", b'{"reason": "\xf8\x88\x80\x80\x80"}', True),
]


def multipart(fields: list[tuple[bytes, bytes, bytes | None]]) -> tuple[bytes, dict[str, str]]:
    """A multipart body written by hand, so that its text may be any bytes at all."""
    parts = []
    for name, value, filename in fields:
        disposition = b'form-data; name="' + name + b'"'
        if filename is not None:
            disposition += b'; filename="' + filename + b'"'
        parts.append(b"--B\r\ncontent-disposition: " + disposition + b"\r\n\r\n" + value + b"\r\n")
    return b"".join(parts) + b"--B--\r\n", {"Content-Type": "multipart/form-data; boundary=B"}


async def test_text_that_is_not_utf8_is_400_on_every_endpoint(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    admin: dict[str, str],
    services: FakeServices,
) -> None:
    first = {"phones": ["+79161234567"], "audio": TTS}
    created = await client.post("/api/v1/campaigns", json=first, headers=headers)
    assert created.status_code == 201, created.text
    sent = len(services.commands)
    for method, path, body, as_admin in NOT_UTF8:
        auth = admin if as_admin else headers
        answer = await client.request(method, path, content=body, headers={**auth, **JSON})
        assert answer.status_code == 400, (path, answer.text)
        assert answer.json()["error"]["code"] == "invalid_utf8", answer.text
    form_cases = [
        [
            (b"campaign", b'{"audio": {"kind": "tts", "text": "\xff"}}', None),
            (b"phones_file", b"+79161234567\n", b"base.csv"),
        ],
        [(b"campaign", b"\xd0\xd0", None), (b"phones_file", b"+79161234567\n", b"base.csv")],
    ]
    for fields in form_cases:
        body, form_type = multipart(fields)
        answer = await client.post(
            "/api/v1/campaigns", content=body, headers={**headers, **form_type}
        )
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == "invalid_utf8", answer.text
    assert len(services.commands) == sent, "nothing reached the campaign service"


@pytest.fixture
async def private_ok(
    nc: Client, services: FakeServices, accounts: AccountStore, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway as run with ZVONAR_WEBHOOK_ALLOW_PRIVATE=1."""
    settings = make_settings(tmp_path, webhook_allow_private=True)
    app = bootstrap(
        settings=settings,
        backend=NatsBackend(nc),
        accounts=accounts,
        health=HealthProbe(nc, ttl=0.0, timeout=0.2),
        web=False,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]  # Litestar's scope types
        base_url="http://gateway",
    ) as http:
        yield http


PRIVATE_URLS = [
    "http://127.0.0.1:8081/hook",
    "https://localhost/hook",
    "http://10.1.2.3/hook",
    "http://192.168.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:9000/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://0.0.0.0:8000/",
    "http://2130706433/",  # 127.0.0.1 as one number
    "http://customer.example@127.0.0.1/hook",
    "http://100.64.0.1/hook",  # carrier-grade NAT
]


async def test_a_webhook_on_a_private_address_is_422_unless_allowed(
    client: httpx.AsyncClient,
    private_ok: httpx.AsyncClient,
    headers: dict[str, str],
    services: FakeServices,
) -> None:
    for url in PRIVATE_URLS:
        body = {
            "phones": ["+79161234567"],
            "audio": TTS,
            "integration": {"webhook_url": url, "secret": "s"},
        }
        answer = await client.post("/api/v1/campaigns", json=body, headers=headers)
        assert answer.status_code == 422, (url, answer.text)
        fields = [d["field"] for d in answer.json()["error"]["details"]]
        assert fields == ["integration.webhook_url"], (url, answer.text)
    assert not any(isinstance(c, CreateCampaign) for c in services.commands)
    body = {
        "phones": ["+79161234567"],
        "audio": TTS,
        "integration": {"webhook_url": PRIVATE_URLS[0], "secret": "s"},
    }
    allowed = await private_ok.post("/api/v1/campaigns", json=body, headers=headers)
    assert allowed.status_code == 201, allowed.text
    public = {**body, "integration": {"webhook_url": "https://93.184.215.14/hook", "secret": "s"}}
    assert (await client.post("/api/v1/campaigns", json=public, headers=headers)).status_code == 201


async def test_date_bounds_past_the_ends_of_the_calendar_are_422(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    for params in (
        {"created_from": "0001-01-01"},
        {"created_to": "0001-01-01T00:00:00+05:00"},
        {"created_from": "9999-12-31T23:59:59-12:00"},
    ):
        answer = await client.get("/api/v1/campaigns", params=params, headers=headers)
        assert answer.status_code == 422, (params, answer.text)
        assert answer.json()["error"]["details"][0]["field"] in params


async def phone_bases(nc: Client) -> set[str]:
    store = await nc.jetstream().object_store(PHONE_BASES_BUCKET)
    try:
        return {info.name for info in await store.list() if not info.deleted}
    except NotFoundError:
        return set()


async def test_a_field_too_large_to_send_is_422_and_no_phone_base_is_stored(
    nc: Client, client: httpx.AsyncClient, headers: dict[str, str], services: FakeServices
) -> None:
    before = await phone_bases(nc)
    phones = [f"+7916555{n:04d}" for n in range(20)]
    huge = "x" * 1_500_000
    for integration in (
        {"webhook_url": f"https://93.184.215.14/{huge}", "secret": "s"},
        {"webhook_url": "https://93.184.215.14/hook", "secret": huge},
    ):
        body = {"phones": phones, "audio": TTS, "integration": integration}
        answer = await client.post("/api/v1/campaigns", json=body, headers=headers)
        assert answer.status_code == 422, answer.text[:300]
        # The field's own limit names it as the body does.
        assert answer.json()["error"]["details"][0]["field"].startswith("integration.")
    assert await phone_bases(nc) == before
    assert not any(isinstance(c, CreateCampaign) for c in services.commands)


async def test_a_create_the_campaign_service_refuses_leaves_no_phone_base(
    nc: Client, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    first = {"phones": ["+79165550001"], "audio": TTS}
    key = {**headers, "Idempotency-Key": "the-same-key"}
    assert (await client.post("/api/v1/campaigns", json=first, headers=key)).status_code == 201
    before = await phone_bases(nc)
    # The same key with another body: the campaign service refuses it after the upload.
    other = {"phones": [f"+7916555{n:04d}" for n in range(100, 130)], "audio": TTS}
    refused = await client.post("/api/v1/campaigns", json=other, headers=key)
    assert refused.status_code == 409, refused.text
    assert await phone_bases(nc) == before
    # A base another campaign already uses stays when a request with it is refused.
    again = await client.post("/api/v1/campaigns", json={**first, "name": "x"}, headers=key)
    assert again.status_code == 409, again.text
    assert await phone_bases(nc) == before


@pytest.fixture
async def page(
    nc: Client, services: FakeServices, accounts: AccountStore, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    app = bootstrap(
        settings=make_settings(tmp_path),
        backend=NatsBackend(nc),
        accounts=accounts,
        health=HealthProbe(nc),
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]  # Litestar's scope types
        base_url="http://gateway",
    ) as http:
        yield http


async def test_a_web_form_that_is_not_utf8_is_400(page: httpx.AsyncClient) -> None:
    body, form_type = multipart([(b"api_key", b"\xff\xfe", None), (b"_csrf", b"x", None)])
    answer = await page.post("/sign-in", content=body, headers=form_type)
    assert answer.status_code == 400, answer.text[:300]
    assert "text/html" in answer.headers["content-type"]
    # URL-encoded: Litestar would read %FF as U+FFFD and go on.
    url_encoded = {"Content-Type": "application/x-www-form-urlencoded"}
    for body in (b"api_key=%FF%FE&_csrf=x", b"api_key=\xd0&_csrf=x", b"%C3=1&_csrf=x"):
        answer = await page.post("/sign-in", content=body, headers=url_encoded)
        assert answer.status_code == 400, (body, answer.text[:300])
