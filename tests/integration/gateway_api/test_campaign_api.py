"""Campaign endpoints against the app with a campaign/stats double on a real nats-server."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from zvonar_audio import pcm_to_wav
from zvonar_contracts.commands import CreateCampaign, PauseCampaign
from zvonar_contracts.options import FileAudio
from zvonar_contracts.queries import GetCampaign, ListCampaigns

BODY: dict[str, Any] = {
    "name": "Акция июнь",
    "phones": ["+79161234567", "8 (916) 123-45-68", "abc", "+79161234567"],
    "audio": {"kind": "tts", "text": "Здравствуйте!"},
}


async def test_create_answers_the_campaign_after_the_write(
    client: httpx.AsyncClient, headers: dict[str, str], services: Any
) -> None:
    answer = await client.post("/api/v1/campaigns", json=BODY, headers=headers)
    assert answer.status_code == 201, answer.text
    campaign = answer.json()
    assert campaign["id"] == 1000001
    assert campaign["name"] == "Акция июнь"
    assert campaign["status"] == "moderation"
    assert campaign["size"]["total"] == 2
    assert campaign["tags"] == ["no_caller_id", "tts"]
    assert campaign["cost"] == "0.00"
    assert campaign["created_at"].endswith("+03:00")
    rejected = {(r["line"], r["reason"]) for r in campaign["rejected_phones"]}
    assert (4, "duplicate") in rejected
    assert any(line == 3 for line, _ in rejected)
    assert campaign["rejected_total"] == 2
    create = next(c for c in services.commands if isinstance(c, CreateCampaign))
    assert create.account_tz == "Europe/Moscow"
    assert create.phones.count == 2
    # Answered from the command's reply: stats is not asked (issue 17, the create hot path)
    assert not any(isinstance(q, GetCampaign) for q in services.queries)
    assert answer.headers["x-request-id"]
    # and a following read shows the same campaign, after the write (read-your-writes)
    shown = await client.get(f"/api/v1/campaigns/{campaign['id']}", headers=headers)
    assert shown.status_code == 200
    read = next(q for q in services.queries if isinstance(q, GetCampaign))
    assert read.min_position == 1  # the command's position
    assert {k: v for k, v in shown.json().items() if k in campaign} == {
        k: v for k, v in campaign.items() if k not in ("rejected_phones", "rejected_total")
    }


async def test_default_name_is_the_creation_time_in_the_account_zone(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    body = {"phones": ["+79161234567"], "audio": {"kind": "tts", "text": "Да"}}
    answer = await client.post("/api/v1/campaigns", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    name = answer.json()["name"]
    parsed = dt.datetime.strptime(name, "%d.%m.%Y (%H:%M:%S)")
    moscow_now = dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)
    assert abs((moscow_now.replace(tzinfo=None) - parsed).total_seconds()) < 120


async def test_every_broken_field_is_named(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    body = {
        "phones": ["+79161234567"],
        "audio": {"kind": "tts", "text": " "},
        "speed": 0,
        "smart": {"parts": 6, "delay_minutes": 20000},
        "window": {"days": ["mon"], "from": "25:00", "to": "21:00", "tz": "account"},
        "integration": {"webhook_url": "ftp://x", "secret": "s"},
        "routing": {"kind": "caller_id", "number": "12"},
        "comment": "x" * 1001,
        "start_at": "2001-01-01T00:00:00+00:00",
    }
    answer = await client.post("/api/v1/campaigns", json=body, headers=headers)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    fields = {d["field"] for d in error["details"]}
    assert fields == {
        "audio.text",
        "speed",
        "smart.parts",
        "smart.delay_minutes",
        "window.from",
        "integration.webhook_url",
        "routing.number",
        "comment",
        "start_at",
    }


async def test_type_errors_and_unknown_fields_are_422(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    body = {"phones": "x", "audio": {"kind": "tts", "text": "a"}, "speed": "fast", "extra": 1}
    answer = await client.post("/api/v1/campaigns", json=body, headers=headers)
    assert answer.status_code == 422
    fields = {d["field"] for d in answer.json()["error"]["details"]}
    assert fields == {"phones", "speed", "extra"}


async def test_malformed_json_is_400(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    answer = await client.post(
        "/api/v1/campaigns",
        content=b'{"phones": [',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "malformed_json"


async def test_all_invalid_phones_is_422(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    body = {"phones": ["abc", "123"], "audio": {"kind": "tts", "text": "a"}}
    answer = await client.post("/api/v1/campaigns", json=body, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "no_valid_phones"


async def test_missing_audio_file_is_422(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    body = {"phones": ["+79161234567"], "audio": {"kind": "file", "file_id": "upload/none"}}
    answer = await client.post("/api/v1/campaigns", json=body, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "audio.file_id"


async def test_multipart_create_reads_the_file(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    csv = b"phone;name\n+79161234567;A\n89161234568;B\nnonsense;C\n"
    answer = await client.post(
        "/api/v1/campaigns",
        files={"phones_file": ("base.csv", csv, "text/csv")},
        data={"campaign": '{"name": "Файл", "audio": {"kind": "tts", "text": "Привет"}}'},
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    campaign = answer.json()
    assert campaign["size"]["total"] == 2
    assert [r["line"] for r in campaign["rejected_phones"]] == [4]


async def test_idempotency_key_replays_the_first_answer(
    client: httpx.AsyncClient, headers: dict[str, str], services: Any
) -> None:
    keyed = {**headers, "Idempotency-Key": "k-1"}
    first = await client.post("/api/v1/campaigns", json=BODY, headers=keyed)
    again = await client.post("/api/v1/campaigns", json=BODY, headers=keyed)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert len(services.campaigns) == 1
    # A replay's campaign may have moved on since: it is read from stats, at the position.
    assert [q.campaign_id for q in services.queries if isinstance(q, GetCampaign)] == [
        first.json()["id"]
    ]
    assert again.json() == first.json()
    other = await client.post("/api/v1/campaigns", json={**BODY, "speed": 5}, headers=keyed)
    assert other.status_code == 409


async def test_list_passes_filters_in_the_account_zone(
    client: httpx.AsyncClient, headers: dict[str, str], services: Any
) -> None:
    await client.post("/api/v1/campaigns", json=BODY, headers=headers)
    answer = await client.get(
        "/api/v1/campaigns",
        params=[
            ("status", "moderation"),
            ("status", "paused"),
            ("tag", "tts"),
            ("created_from", "2026-06-01"),
            ("created_to", "2026-06-17"),
            ("q", "июнь"),
            ("per_page", "10"),
        ],
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["total"] == 1 and page["per_page"] == 10
    query = next(q for q in services.queries if isinstance(q, ListCampaigns))
    assert query.statuses == ["moderation", "paused"]
    assert query.tags == ["tts"]
    assert query.q == "июнь"
    assert query.created_from == dt.datetime(2026, 5, 31, 21, 0, tzinfo=dt.UTC)
    assert query.created_to is not None
    assert query.created_to.astimezone(dt.UTC) == dt.datetime(
        2026, 6, 17, 20, 59, 59, 999999, tzinfo=dt.UTC
    )


async def test_list_rejects_bad_filters_with_422(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    for params in ({"per_page": "0"}, {"per_page": "201"}, {"status": "nope"}, {"created_to": "x"}):
        answer = await client.get("/api/v1/campaigns", params=params, headers=headers)
        assert answer.status_code == 422, (params, answer.text)
        assert answer.json()["error"]["details"], params


async def test_detail_has_options_and_history(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(microsecond=0)
    body = {
        **BODY,
        "start_at": start.isoformat(),
        "window": {"days": ["mon"], "from": "09:00", "to": "21:00"},
    }
    created = (await client.post("/api/v1/campaigns", json=body, headers=headers)).json()
    answer = await client.get(f"/api/v1/campaigns/{created['id']}", headers=headers)
    assert answer.status_code == 200
    detail = answer.json()
    assert detail["options"]["start_at"].endswith("+03:00")
    assert detail["options"]["window"]["from"] == "09:00"
    assert "phones" not in detail["options"]
    assert detail["history"][0]["type"] == "CampaignCreated"
    assert detail["start"] == {
        "kind": "scheduled",
        "at": start.astimezone(dt.timezone(dt.timedelta(hours=3))).isoformat(),
    }


async def test_actions_answer_the_campaign_and_refusals_are_409(
    client: httpx.AsyncClient, headers: dict[str, str], services: Any
) -> None:
    cid = (await client.post("/api/v1/campaigns", json=BODY, headers=headers)).json()["id"]
    paused = await client.post(f"/api/v1/campaigns/{cid}/pause", headers=headers)
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert any(isinstance(c, PauseCampaign) for c in services.commands)
    stopped = await client.post(f"/api/v1/campaigns/{cid}/stop", headers=headers)
    assert stopped.json()["status"] == "stopped"
    refused = await client.post(f"/api/v1/campaigns/{cid}/resume", headers=headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "invalid_transition"
    comment = await client.put(
        f"/api/v1/campaigns/{cid}/comment", json={"text": "мой"}, headers=headers
    )
    assert comment.json()["comment"]["user"] == "мой"
    long = await client.put(
        f"/api/v1/campaigns/{cid}/comment", json={"text": "x" * 1001}, headers=headers
    )
    assert long.status_code == 422
    copy = await client.post(f"/api/v1/campaigns/{cid}/copy", headers=headers)
    assert copy.status_code == 201 and copy.json()["id"] != cid
    deleted = await client.post("/api/v1/campaigns/delete", json={"ids": [cid, 1]}, headers=headers)
    assert deleted.json() == {"deleted": [cid]}


async def test_another_accounts_campaign_is_404(
    client: httpx.AsyncClient, headers: dict[str, str], admin: dict[str, str]
) -> None:
    cid = (await client.post("/api/v1/campaigns", json=BODY, headers=headers)).json()["id"]
    other = await client.post("/api/v1/accounts", json={"name": "B"}, headers=admin)
    them = {"Authorization": f"Bearer {other.json()['api_key']}"}
    for method, path in (("GET", ""), ("POST", "/pause"), ("POST", "/copy")):
        answer = await client.request(method, f"/api/v1/campaigns/{cid}{path}", headers=them)
        assert answer.status_code == 404, (path, answer.text)


async def test_a_silent_service_is_503_with_retry_after(
    client: httpx.AsyncClient, headers: dict[str, str], services: Any
) -> None:
    services.silent = True
    answer = await client.get("/api/v1/campaigns", headers=headers)
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"
    assert answer.json()["error"]["code"] == "service_unavailable"


async def upload_audio(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    wav = pcm_to_wav(bytes(16000), 8000)  # one second
    answer = await client.post(
        "/api/v1/audio", files={"file": ("m.wav", wav, "audio/wav")}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    file_id: str = answer.json()["file_id"]
    return file_id


def with_file(file_id: str) -> dict[str, Any]:
    return {"phones": ["+79161234567"], "audio": {"kind": "file", "file_id": file_id}}


async def test_an_uploaded_audio_file_can_be_used(
    client: httpx.AsyncClient, headers: dict[str, str], services: Any
) -> None:
    file_id = await upload_audio(client, headers)
    answer = await client.post("/api/v1/campaigns", json=with_file(file_id), headers=headers)
    assert answer.status_code == 201, answer.text
    assert "audio_file" in answer.json()["tags"]
    create = next(c for c in services.commands if isinstance(c, CreateCampaign))
    assert isinstance(create.options.audio, FileAudio)
    assert create.options.audio.file_id == file_id


async def test_another_accounts_file_id_is_refused_exactly_like_an_unknown_one(
    client: httpx.AsyncClient, headers: dict[str, str], admin: dict[str, str], services: Any
) -> None:
    """docs/API.md: references in a body belong to the caller."""
    other = await client.post(
        "/api/v1/accounts", json={"name": "Другой", "timezone": "UTC"}, headers=admin
    )
    theirs = {"Authorization": f"Bearer {other.json()['api_key']}"}
    file_id = await upload_audio(client, headers)

    borrowed = await client.post("/api/v1/campaigns", json=with_file(file_id), headers=theirs)
    unknown = await client.post(
        "/api/v1/campaigns", json=with_file("upload/" + "0" * 32), headers=theirs
    )
    assert borrowed.status_code == unknown.status_code == 422, borrowed.text
    assert borrowed.json()["error"]["code"] == unknown.json()["error"]["code"]
    assert borrowed.json()["error"]["details"] == unknown.json()["error"]["details"]
    assert borrowed.json()["error"]["details"][0]["field"] == "audio.file_id"
    assert not any(isinstance(c, CreateCampaign) for c in services.commands)


async def test_answers_have_the_documented_shapes(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    import msgspec

    from zvonar_gateway.http.schemas import (
        CampaignDetailOut,
        CampaignOut,
        CampaignPageOut,
        CreatedCampaignOut,
        StopListPageOut,
    )

    body = {**BODY, "smart": {"parts": 2, "delay_minutes": 5}}
    created = await client.post("/api/v1/campaigns", json=body, headers=headers)
    cid = msgspec.convert(created.json(), CreatedCampaignOut, strict=True).id
    detail = await client.get(f"/api/v1/campaigns/{cid}", headers=headers)
    msgspec.convert(detail.json(), CampaignDetailOut, strict=True)
    page = await client.get("/api/v1/campaigns", headers=headers)
    msgspec.convert(page.json(), CampaignPageOut, strict=True)
    paused = await client.post(f"/api/v1/campaigns/{cid}/pause", headers=headers)
    msgspec.convert(paused.json(), CampaignOut, strict=True)
    stop_list = await client.get("/api/v1/stop-list", headers=headers)
    msgspec.convert(stop_list.json(), StopListPageOut, strict=True)
