"""`GET /api/v1/campaigns/{id}/webhooks`: the delivery log the dialer keeps, asked for over
NATS (the dialer double of conftest answers here), only for the caller's own campaign,
paged, in the documented shape; bad paging is an error in the error shape and asks nobody."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import msgspec
import pytest

from zvonar_contracts.dialer import ListWebhookDeliveries, WebhookDelivery
from zvonar_gateway.http.schemas import WebhookDeliveryPageOut

from .conftest import FakeServices

BODY: dict[str, Any] = {
    "phones": ["+79161234567"],
    "audio": {"kind": "tts", "text": "Здравствуйте!"},
    "integration": {"webhook_url": "https://hooks.example.com/z", "secret": "s"},
}
AT = dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC)


def log_of(campaign_id: int) -> list[WebhookDelivery]:
    """120 deliveries of a campaign, newest first: the odd ones pending a retry."""
    return [
        WebhookDelivery(
            id=f"msg_{n:032x}",
            event="CallCompleted",
            call_id=f"{campaign_id}-0-7916{n:07d}-1",
            state="pending" if n % 2 else "delivered",
            attempts=1 + n % 3,
            last_status=503 if n % 2 else 200,
            last_error="HTTP 503" if n % 2 else None,
            created_at=AT,
            next_attempt_at=AT + dt.timedelta(seconds=5) if n % 2 else None,
            delivered_at=None if n % 2 else AT,
        )
        for n in range(120, 0, -1)
    ]


async def owned_campaign(
    client: httpx.AsyncClient, headers: dict[str, str], services: FakeServices
) -> int:
    created = await client.post("/api/v1/campaigns", json=BODY, headers=headers)
    assert created.status_code == 201, created.text
    cid: int = created.json()["id"]
    services.deliveries[cid] = log_of(cid)
    return cid


async def test_the_log_is_paged_in_the_documented_shape_in_the_account_zone(
    client: httpx.AsyncClient, headers: dict[str, str], services: FakeServices
) -> None:
    cid = await owned_campaign(client, headers, services)
    answer = await client.get(f"/api/v1/campaigns/{cid}/webhooks", headers=headers)
    assert answer.status_code == 200, answer.text
    page = msgspec.convert(answer.json(), WebhookDeliveryPageOut, strict=True)
    assert (page.total, page.page, page.per_page, len(page.items)) == (120, 1, 50, 50)
    newest = answer.json()["items"][0]
    assert newest == {
        "id": f"msg_{120:032x}",
        "event": "CallCompleted",
        "call_id": f"{cid}-0-79160000120-1",
        "state": "delivered",
        "attempts": 1,
        "last_status": 200,
        "last_error": None,
        "created_at": "2026-11-29T13:00:00+03:00",
        "next_attempt_at": None,
        "delivered_at": "2026-11-29T13:00:00+03:00",
    }
    pending = await client.get(
        f"/api/v1/campaigns/{cid}/webhooks",
        params={"state": "pending", "page": 2, "per_page": 40},
        headers=headers,
    )
    body = pending.json()
    assert (body["total"], body["page"], body["per_page"], len(body["items"])) == (60, 2, 40, 20)
    assert {i["state"] for i in body["items"]} == {"pending"}
    assert body["items"][0]["next_attempt_at"] == "2026-11-29T13:00:05+03:00"
    me = (await client.get("/api/v1/me", headers=headers)).json()["id"]
    assert services.dialer_requests[-1] == ListWebhookDeliveries(
        campaign_id=cid, account_id=me, state="pending", page=2, per_page=40
    )


async def test_another_accounts_campaign_is_the_same_404_as_an_unknown_one(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    admin: dict[str, str],
    services: FakeServices,
) -> None:
    cid = await owned_campaign(client, headers, services)
    other = await client.post("/api/v1/accounts", json={"name": "B"}, headers=admin)
    them = {"Authorization": f"Bearer {other.json()['api_key']}"}
    theirs = await client.get(f"/api/v1/campaigns/{cid}/webhooks", headers=them)
    unknown = await client.get("/api/v1/campaigns/987654321/webhooks", headers=headers)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["error"]["code"] == unknown.json()["error"]["code"] == "not_found"
    assert services.dialer_requests == []  # the dialer was never asked


@pytest.mark.parametrize(
    "params",
    [{"per_page": 0}, {"per_page": 201}, {"page": 0}, {"page": "x"}, {"state": "lost"}],
)
async def test_bad_paging_or_state_is_an_error_in_the_error_shape(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    services: FakeServices,
    params: dict[str, Any],
) -> None:
    cid = await owned_campaign(client, headers, services)
    answer = await client.get(f"/api/v1/campaigns/{cid}/webhooks", params=params, headers=headers)
    assert answer.status_code in (400, 422), answer.text
    assert set(answer.json()["error"]) == {"code", "message", "details"}
    assert services.dialer_requests == []


async def test_a_silent_dialer_is_503_with_retry_after(
    client: httpx.AsyncClient, headers: dict[str, str], services: FakeServices
) -> None:
    cid = await owned_campaign(client, headers, services)
    services.dialer_silent = True  # the campaign is found, its log does not come
    answer = await client.get(f"/api/v1/campaigns/{cid}/webhooks", headers=headers)
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
    assert answer.json()["error"]["code"] == "service_unavailable"


async def test_the_endpoint_is_in_the_openapi_schema(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/api/v1/campaigns/{campaign_id}/webhooks"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {
        "campaign_id",
        "state",
        "page",
        "per_page",
    }
    assert "200" in operation["responses"] and "4XX" in operation["responses"]
