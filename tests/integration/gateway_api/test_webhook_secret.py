"""The webhook secret at the gateway: sealed into its KV bucket before the create command,
which (like the answers) carries only the reference; a secret over 200 characters is a 422
that stores nothing; a refused create leaves no sealed secret behind."""

from __future__ import annotations

from typing import Any

import httpx
from nats.aio.client import Client
from nats.js.errors import NoKeysError

from zvonar_contracts.codec import encode
from zvonar_contracts.commands import CreateCampaign
from zvonar_contracts.subjects import WEBHOOK_SECRETS_BUCKET

SECRET = "wh-unit-s3cr3t-value"


def body(secret: str = SECRET) -> dict[str, Any]:
    return {
        "phones": ["+79161234567"],
        "audio": {"kind": "tts", "text": "Здравствуйте!"},
        "integration": {"webhook_url": "https://crm.example.ru/hook", "secret": secret},
    }


async def sealed_refs(nc: Client) -> set[str]:
    kv = await nc.jetstream().key_value(WEBHOOK_SECRETS_BUCKET)
    try:
        return set(await kv.keys())
    except NoKeysError:
        return set()


async def test_the_command_and_the_answers_carry_a_reference_only(
    client: httpx.AsyncClient, headers: dict[str, str], services: Any, nc: Client
) -> None:
    before = await sealed_refs(nc)
    answer = await client.post("/api/v1/campaigns", json=body(), headers=headers)
    assert answer.status_code == 201, answer.text
    assert SECRET not in answer.text

    create = next(c for c in services.commands if isinstance(c, CreateCampaign))
    assert SECRET.encode() not in encode(create)
    assert create.options.integration is not None
    ref = create.options.integration.secret_ref
    assert ref in await sealed_refs(nc) - before
    kv = await nc.jetstream().key_value(WEBHOOK_SECRETS_BUCKET)
    assert SECRET.encode() not in ((await kv.get(ref)).value or b"")

    detail = await client.get(f"/api/v1/campaigns/{answer.json()['id']}", headers=headers)
    assert detail.json()["options"]["integration"] == {
        "webhook_url": "https://crm.example.ru/hook",
        "has_secret": True,
    }
    assert SECRET not in detail.text and ref not in detail.text


async def test_no_secret_means_no_reference(
    client: httpx.AsyncClient, headers: dict[str, str], services: Any
) -> None:
    answer = await client.post("/api/v1/campaigns", json=body(""), headers=headers)
    assert answer.status_code == 201, answer.text
    create = next(c for c in services.commands if isinstance(c, CreateCampaign))
    assert create.options.integration is not None
    assert create.options.integration.secret_ref is None
    detail = await client.get(f"/api/v1/campaigns/{answer.json()['id']}", headers=headers)
    assert detail.json()["options"]["integration"]["has_secret"] is False


async def test_a_secret_over_200_characters_is_422_and_seals_nothing(
    client: httpx.AsyncClient, headers: dict[str, str], services: Any, nc: Client
) -> None:
    before = await sealed_refs(nc)
    answer = await client.post("/api/v1/campaigns", json=body("x" * 201), headers=headers)
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "integration.secret"
    assert "x" * 201 not in answer.text
    assert await sealed_refs(nc) == before
    assert not [c for c in services.commands if isinstance(c, CreateCampaign)]


async def test_a_refused_create_leaves_no_sealed_secret(
    client: httpx.AsyncClient, headers: dict[str, str], nc: Client
) -> None:
    first = await client.post(
        "/api/v1/campaigns", json=body(), headers={**headers, "Idempotency-Key": "k-1"}
    )
    assert first.status_code == 201, first.text
    after_first = await sealed_refs(nc)
    other = body("another-secret")
    other["phones"] = ["+79161234568"]
    reused = await client.post(
        "/api/v1/campaigns", json=other, headers={**headers, "Idempotency-Key": "k-1"}
    )
    assert reused.status_code == 409, reused.text
    assert await sealed_refs(nc) == after_first
