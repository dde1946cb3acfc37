"""Stop-list, moderation (admin token), /healthz, /metrics and the OpenAPI schema."""

from __future__ import annotations

from typing import Any

import httpx

from zvonar_contracts.commands import AddToStopList, ModerateCampaign, RemoveFromStopList
from zvonar_runtime.health import serve_health

BODY = {"phones": ["+79161234567"], "audio": {"kind": "tts", "text": "Кредит"}}


async def test_stop_list_add_read_remove(
    client: httpx.AsyncClient, headers: dict[str, str], services: Any
) -> None:
    added = await client.post(
        "/api/v1/stop-list", json={"phones": ["8 916 123-45-67", "bad"]}, headers=headers
    )
    assert added.status_code == 200, added.text
    body = added.json()
    assert body["added"] == ["+79161234567"]
    assert body["rejected_phones"][0]["line"] == 2
    assert body["phones"] == ["+79161234567"]
    add = next(c for c in services.commands if isinstance(c, AddToStopList))
    assert add.phones == ["+79161234567"]
    page = await client.get("/api/v1/stop-list", params={"per_page": 10}, headers=headers)
    assert page.json()["items"] == [{"phone": "+79161234567"}]
    removed = await client.delete("/api/v1/stop-list/89161234567", headers=headers)
    assert removed.status_code == 200 and removed.json()["total"] == 0
    assert any(isinstance(c, RemoveFromStopList) for c in services.commands)
    assert (await client.delete("/api/v1/stop-list/abc", headers=headers)).status_code == 422
    empty = await client.post("/api/v1/stop-list", json={"phones": []}, headers=headers)
    assert empty.status_code == 422


async def test_moderators_approve_and_reject_with_the_admin_token(
    client: httpx.AsyncClient, headers: dict[str, str], admin: dict[str, str], services: Any
) -> None:
    first = (await client.post("/api/v1/campaigns", json=BODY, headers=headers)).json()["id"]
    second = (await client.post("/api/v1/campaigns", json=BODY, headers=headers)).json()["id"]
    services.clarify(first)
    services.clarify(second)
    assert (await client.get("/api/v1/moderation/queue", headers=headers)).status_code == 401
    queue = await client.get("/api/v1/moderation/queue", headers=admin)
    assert queue.status_code == 200
    assert {row["id"] for row in queue.json()["items"]} == {first, second}
    assert queue.json()["items"][0]["created_at"].endswith("+03:00")
    approved = await client.post(f"/api/v1/moderation/{first}/approve", headers=admin)
    assert approved.status_code == 200 and approved.json()["status"] == "accepted"
    decision = next(c for c in services.commands if isinstance(c, ModerateCampaign))
    # A moderator's command acts for the campaign's owner, looked up by the gateway.
    owner = services.campaigns[first][0].account_id
    assert (decision.decision, decision.decided_by, decision.account_id) == (
        "accepted",
        "moderator",
        owner,
    )
    no_reason = await client.post(f"/api/v1/moderation/{second}/reject", json={}, headers=admin)
    assert no_reason.status_code == 422
    rejected = await client.post(
        f"/api/v1/moderation/{second}/reject", json={"reason": "не подходит"}, headers=admin
    )
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["comment"]["system"] == "не подходит"
    missing = await client.post("/api/v1/moderation/999/approve", headers=admin)
    assert missing.status_code == 404


async def test_healthz_is_200_only_when_every_service_is_ready(
    client: httpx.AsyncClient, nats_url: str
) -> None:
    from zvonar_runtime.jetstream import connect

    down = await client.get("/healthz")
    assert down.status_code == 503
    assert down.headers["retry-after"] == "1"
    others = await connect(nats_url, "health-doubles")
    try:
        for service in ("campaign", "moderation", "dialer", "stats", "gateway"):
            await serve_health(others, service, f"{service}-test")
        await others.flush()  # the subscriptions are on the server before we ask
        up = await client.get("/healthz")
        assert up.status_code == 200, up.text
        assert all(up.json()["services"].values())
    finally:
        await others.close()


async def test_metrics_count_requests_by_route(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await client.get("/api/v1/me", headers=headers)
    text = (await client.get("/metrics")).text
    assert 'zvonar_http_requests_total{method="GET",path="/api/v1/me",status_code="200"}' in text
    assert "zvonar_http_request_duration_seconds_bucket{" in text
    assert "app_name" not in text  # the scrape's job says which service
    await client.get(f"/api/v1/campaigns/{10**6 + 1}", headers=headers)
    text = (await client.get("/metrics")).text
    assert 'path="/api/v1/campaigns/{campaign_id}",status_code="404"' in text


async def test_openapi_schema_and_docs_page_are_public(client: httpx.AsyncClient) -> None:
    schema = await client.get("/schema/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/campaigns" in paths and "/api/v1/campaigns/{campaign_id}/pause" in paths
    create = paths["/api/v1/campaigns"]["post"]["requestBody"]["content"]
    assert "audio" in create["application/json"]["schema"]["required"]
    assert "multipart/form-data" in create
    docs = await client.get("/schema/swagger")
    assert docs.status_code == 200 and "html" in docs.headers["content-type"]


async def test_framework_errors_use_the_error_shape(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    not_found = await client.get("/api/v1/nothing-here", headers=headers)
    assert not_found.status_code == 404
    assert not_found.headers["x-request-id"]
    assert not_found.json()["error"]["code"] == "not_found"
    wrong_method = await client.delete("/api/v1/me", headers=headers)
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    not_int = await client.get("/api/v1/campaigns/abc", headers=headers)
    assert not_int.status_code in (404, 422)
    huge = await client.get(f"/api/v1/campaigns/{10**30}", headers=headers)
    assert huge.status_code == 404
