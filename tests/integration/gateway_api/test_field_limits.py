"""The contract's field limits at the gateway: a field over its limit is a 422 naming it,
together with every other fault of the body, and no command is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from nats.aio.client import Client

from tests.integration.gateway_api.conftest import FakeServices, start_doubles
from zvonar_contracts.codec import encode
from zvonar_contracts.commands import AddToStopList, CreateCampaign, SetComment
from zvonar_contracts.queries import CampaignPage, ListCampaigns
from zvonar_devtools.natsserver import NatsServer
from zvonar_gateway.adapters.backend import NatsBackend
from zvonar_gateway.service_layer.errors import ApiError
from zvonar_runtime.correlation import correlation_scope
from zvonar_runtime.jetstream import connect

SMALL_MAX_PAYLOAD = 8192


async def test_each_field_over_its_limit_is_named_and_nothing_is_sent(
    client: httpx.AsyncClient, headers: dict[str, str], services: FakeServices
) -> None:
    base = {"phones": ["+79161234567"], "audio": {"kind": "tts", "text": "Да"}}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"ivr": {"kind": "words", "lead_words": ["да"] * 21}}, "ivr.lead_words"),
        ({"ivr": {"kind": "words", "lead_words": ["да", "x" * 51]}}, "ivr.lead_words[1]"),
        ({"ivr": {"kind": "keys", "lead_keys": ["1"] * 13}}, "ivr.lead_keys"),
        (
            {"integration": {"webhook_url": "https://a.test/" + "u" * 2000, "secret": "s"}},
            "integration.webhook_url",
        ),
        (
            {"integration": {"webhook_url": "https://a.test/", "secret": "s" * 201}},
            "integration.secret",
        ),
        ({"audio": {"kind": "file", "file_id": "f", "name": "n" * 256}}, "audio.name"),
        ({"audio": {"kind": "tts", "text": "t" * 5001}}, "audio.text"),
        ({"name": "n" * 201}, "name"),
        ({"comment": "c" * 1001}, "comment"),
    ]
    for extra, field in cases:
        answer = await client.post("/api/v1/campaigns", json={**base, **extra}, headers=headers)
        assert answer.status_code == 422, (field, answer.text[:300])
        fields = [d["field"] for d in answer.json()["error"]["details"]]
        assert field in fields, (field, fields)
    # A fault over a limit does not hide the others: all of them come back at once.
    body = {**base, "speed": 0, "comment": "c" * 1001, "ivr": {"kind": "words", "lead_words": []}}
    answer = await client.post("/api/v1/campaigns", json=body, headers=headers)
    assert answer.status_code == 422
    named = {d["field"] for d in answer.json()["error"]["details"]}
    assert named == {"speed", "comment", "ivr.lead_words"}
    # A required field missing or at fault, and one over its limit: both named, never a 500.
    for audio in ({}, {"audio": {"kind": "tts", "text": "t" * 5001}}):
        body = {"phones": ["+79161234567"], "comment": "c" * 1001, **audio}
        answer = await client.post("/api/v1/campaigns", json=body, headers=headers)
        assert answer.status_code == 422, answer.text[:300]
        named = {d["field"] for d in answer.json()["error"]["details"]}
        assert named == {"audio" if not audio else "audio.text", "comment"}
    assert not [c for c in services.commands if isinstance(c, CreateCampaign)]


async def test_stop_list_numbers_per_request_are_limited(
    client: httpx.AsyncClient, headers: dict[str, str], services: FakeServices
) -> None:
    phones = [f"+7916{n:07d}" for n in range(10_001)]
    answer = await client.post("/api/v1/stop-list", json={"phones": phones}, headers=headers)
    assert answer.status_code == 422, answer.text[:300]
    assert not [c for c in services.commands if isinstance(c, AddToStopList)]
    answer = await client.post("/api/v1/stop-list", json={"phones": phones[:3]}, headers=headers)
    assert answer.status_code == 200, answer.text[:300]


async def test_idempotency_key_over_200_characters_is_refused(
    client: httpx.AsyncClient, headers: dict[str, str], services: FakeServices
) -> None:
    body = {"phones": ["+79161234567"], "audio": {"kind": "tts", "text": "Да"}}
    long_key = {**headers, "Idempotency-Key": "k" * 201}
    answer = await client.post("/api/v1/campaigns", json=body, headers=long_key)
    assert answer.status_code in (400, 422), answer.text[:300]
    assert not [c for c in services.commands if isinstance(c, CreateCampaign)]


@pytest.fixture
async def small_nats(tmp_path: Path) -> AsyncIterator[Client]:
    """A nats-server of its own with an 8 KiB max payload, and a client of it."""
    config = tmp_path / "small.conf"
    config.write_text(f"max_payload: {SMALL_MAX_PAYLOAD}\n")
    with NatsServer(tmp_path / "nats", extra_args=["-c", str(config)]) as server:
        nc = await connect(server.url, "gateway-small")
        yield nc
        await nc.close()


async def test_a_request_over_the_servers_max_payload_is_refused_and_not_sent(
    small_nats: Client,
) -> None:
    """Body and headers over the limit, the body alone under it: nats-py sends it, and
    nats-server answers by closing the connection every request of every account shares."""
    assert small_nats.max_payload == SMALL_MAX_PAYLOAD
    services, _ = await start_doubles(small_nats)
    backend = NatsBackend(small_nats, command_timeout=5.0, query_timeout=5.0)
    overhead = len(encode(SetComment(account_id="acc_a", campaign_id=1_000_001, text="")))
    # The correlation id is the header: 16 bytes of payload room are less than it takes.
    comment = SetComment(
        account_id="acc_a", campaign_id=1_000_001, text="x" * (SMALL_MAX_PAYLOAD - overhead - 16)
    )
    assert len(encode(comment)) <= SMALL_MAX_PAYLOAD
    with correlation_scope("c" * 32), pytest.raises(ApiError) as refused:
        await backend.command(comment)
    # A command is checked before anything it refers to is stored: a 422 naming its field.
    assert refused.value.status_code == 422
    assert refused.value.code == "validation"
    assert [d["field"] for d in refused.value.details] == ["text"]
    assert services.commands == []
    # The connection is still there, and the next request (another account's) is answered.
    assert small_nats.is_connected
    with correlation_scope("c" * 32):
        page = await backend.query(ListCampaigns(account_id="acc_b"))
    assert isinstance(page, CampaignPage)
