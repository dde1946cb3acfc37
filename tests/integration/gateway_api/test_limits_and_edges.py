"""Body limits and malformed input: 400/413/415/422 in the error shape, never a 5xx."""

from __future__ import annotations

from pathlib import Path

import httpx
import msgspec
from nats.aio.client import Client

from tests.integration.gateway_api.conftest import FakeServices
from zvonar_gateway.adapters.accounts import AccountStore
from zvonar_gateway.adapters.backend import NatsBackend
from zvonar_gateway.bootstrap import bootstrap
from zvonar_gateway.domain.storable import nul_fields
from zvonar_gateway.http.routes.system import HealthProbe
from zvonar_gateway.settings import GatewaySettings


async def test_a_body_over_the_limit_is_413(
    nc: Client, accounts: AccountStore, tmp_path: Path
) -> None:
    settings = GatewaySettings(data_dir=tmp_path, max_body_bytes=2048)
    app = bootstrap(
        settings=settings,
        backend=NatsBackend(nc),
        accounts=accounts,
        health=HealthProbe(nc),
        web=False,
    )
    _, key = await accounts.create("A", "Europe/Moscow")
    body = {"phones": ["+79161234567"] * 500, "audio": {"kind": "tts", "text": "a"}}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:  # type: ignore[arg-type]  # Litestar's scope types
        answer = await c.post(
            "/api/v1/campaigns", json=body, headers={"Authorization": f"Bearer {key}"}
        )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "payload_too_large"


async def test_more_than_a_million_phones_is_413(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    body = {"phones": ["1"] * 1_000_001, "audio": {"kind": "tts", "text": "a"}}
    answer = await client.post(
        "/api/v1/campaigns",
        content=msgspec.json.encode(body),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "too_many_phones"


async def test_malformed_and_mistyped_bodies(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    json_headers = {**headers, "Content-Type": "application/json"}
    cases = [
        ("PATCH", "/api/v1/me", b"{", 400),
        ("PATCH", "/api/v1/me", b"[]", 422),
        ("PATCH", "/api/v1/me", b'{"timezone": "UTC", "x": 1}', 422),
        ("POST", "/api/v1/campaigns", b"", 400),
        ("POST", "/api/v1/campaigns", b"[1, 2]", 422),
        ("POST", "/api/v1/campaigns", b'{"audio": {"kind": "video"}}', 422),
        ("POST", "/api/v1/campaigns/delete", b'{"ids": []}', 422),
        ("POST", "/api/v1/campaigns/delete", b'{"ids": ["a"]}', 422),
        ("POST", "/api/v1/campaigns/delete", b"nope", 400),
        ("PUT", "/api/v1/campaigns/1000001/comment", b'{"text": 5}', 422),
        ("POST", "/api/v1/stop-list", b'{"phones": "x"}', 422),
    ]
    for method, path, body, status in cases:
        answer = await client.request(method, path, content=body, headers=json_headers)
        assert answer.status_code == status, (method, path, body, answer.text)
        error = answer.json()["error"]
        assert error["code"] and error["message"], (path, body)
        if status == 422:
            assert error["details"], (path, body)


async def test_json_nested_too_deeply_is_400_not_500(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    json_headers = {**headers, "Content-Type": "application/json"}
    deep = b"[" * 5000 + b"]" * 5000
    bodies = [deep, b'{"phones": ' + deep + b', "audio": {"kind": "tts", "text": "x"}}']
    # The campaign route decodes by hand; the others through Litestar's typed bodies.
    routes = [
        ("POST", "/api/v1/campaigns"),
        ("POST", "/api/v1/stop-list"),
        ("PATCH", "/api/v1/me"),
        ("POST", "/api/v1/campaigns/delete"),
    ]
    for method, path in routes:
        for body in bodies:
            answer = await client.request(method, path, content=body, headers=json_headers)
            assert answer.status_code == 400, (method, path, answer.text)
            assert answer.json()["error"]["code"] == "malformed_json"


async def test_create_reads_json_or_multipart(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    answer = await client.post(
        "/api/v1/campaigns", content=b"phones", headers={**headers, "Content-Type": "text/plain"}
    )
    assert answer.status_code == 400
    body = b'{"phones": ["+79161234567"], "audio": {"kind": "tts", "text": "a"}}'
    form_typed = await client.post(
        "/api/v1/campaigns",
        content=body,
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form_typed.status_code == 201, form_typed.text
    no_file = await client.post(
        "/api/v1/campaigns",
        data={"campaign": '{"audio": {"kind": "tts", "text": "a"}}'},
        files={"other": ("x.txt", b"1", "text/plain")},
        headers=headers,
    )
    assert no_file.status_code == 422
    assert no_file.json()["error"]["details"][0]["field"] == "phones_file"
    binary = await client.post(
        "/api/v1/campaigns",
        data={"campaign": '{"audio": {"kind": "tts", "text": "a"}}'},
        files={"phones_file": ("x.bin", b"\x00\x01\x02", "application/octet-stream")},
        headers=headers,
    )
    assert binary.status_code == 422


async def test_text_with_a_nul_is_422_and_nothing_is_sent(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    admin: dict[str, str],
    services: FakeServices,
) -> None:
    # PostgreSQL text cannot hold U+0000: stored as an event, it would stop the projections.
    json_headers = {**headers, "Content-Type": "application/json"}
    nul = "нуль\x00байт"
    body = {"name": nul, "phones": ["+79161234567"], "audio": {"kind": "tts", "text": "a"}}
    sent_before = len(services.commands)
    cases = [
        ("POST", "/api/v1/campaigns", body, json_headers),
        ("POST", "/api/v1/campaigns", {**body, "name": "ok", "comment": nul}, json_headers),
        ("PUT", "/api/v1/campaigns/1000001/comment", {"text": nul}, json_headers),
        ("GET", "/api/v1/campaigns?q=a%00b", None, headers),
        ("POST", "/api/v1/accounts", {"name": nul}, {**admin, "Content-Type": "application/json"}),
    ]
    for method, path, payload, with_headers in cases:
        content = None if payload is None else msgspec.json.encode(payload)
        answer = await client.request(method, path, content=content, headers=with_headers)
        assert answer.status_code == 422, (method, path, answer.text)
        assert answer.json()["error"]["details"], answer.text
    assert len(services.commands) == sent_before


def test_nul_fields_name_every_place_a_nul_hides() -> None:
    value = {"name": "a\x00", "ok": "b", "list": ["c", "\x00"], "k\x00": 1, "n": {"m": "\x00"}}
    assert nul_fields(value) == ["name", "list[1]", "k\x00", "n.m"]
    assert nul_fields(["fine", {"also": "fine"}]) == []
