"""The contract's field limits at the gateway: a field over its limit is a 422 naming it,
together with every other fault of the body, and no command is sent."""

from __future__ import annotations

import httpx

from tests.unit.gateway.conftest import FakeServices
from zvonar_contracts.commands import AddToStopList, CreateCampaign


async def test_each_field_over_its_limit_is_named_and_nothing_is_sent(
    client: httpx.AsyncClient, headers: dict[str, str], services: FakeServices
) -> None:
    base = {"phones": ["+79161234567"], "audio": {"kind": "tts", "text": "Да"}}
    cases = [
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
    fields = {d["field"] for d in answer.json()["error"]["details"]}
    assert fields == {"speed", "comment", "ivr.lead_words"}
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
