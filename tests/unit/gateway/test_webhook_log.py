"""`GET /api/v1/campaigns/{id}/webhooks`: the delivery log the dialer keeps, asked for over
NATS (a dialer double answers here), only for the caller's own campaign, paged, in the
documented shape; bad paging is a 422 in the error shape and asks nobody."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from zvonar_contracts.codec import decode, encode
from zvonar_contracts.dialer import ListWebhookDeliveries, WebhookDelivery, WebhookDeliveryPage
from zvonar_contracts.subjects import DIALER_REQUESTS_QUEUE, dialer_request_subject
from zvonar_gateway.http.schemas import WebhookDeliveryPageOut

BODY: dict[str, Any] = {
    "phones": ["+79161234567"],
    "audio": {"kind": "tts", "text": "Здравствуйте!"},
    "integration": {"webhook_url": "https://hooks.example.com/z", "secret": "s"},
}
AT = dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC)


class DialerDouble:
    """The dialer's log of one campaign: 120 deliveries of campaign 1000001 of account
    `owner` (set by the test), newest first."""

    def __init__(self) -> None:
        self.owner = ""
        self.requests: list[ListWebhookDeliveries] = []

    def answer(self, request: ListWebhookDeliveries) -> WebhookDeliveryPage:
        self.requests.append(request)
        items = [
            WebhookDelivery(
                id=f"msg_{n:032x}", event="CallCompleted", call_id=f"1000001-0-7916{n:07d}-1",
                state="pending" if n % 2 else "delivered", attempts=1 + n % 3,
                last_status=503 if n % 2 else 200, last_error="HTTP 503" if n % 2 else None,
                created_at=AT, next_attempt_at=AT + dt.timedelta(seconds=5) if n % 2 else None,
                delivered_at=None if n % 2 else AT,
            )
            for n in range(120, 0, -1)
            if request.campaign_id == 1000001 and request.account_id == self.owner
        ]  # fmt: skip
        if request.state is not None:
            items = [i for i in items if i.state == request.state]
        start = (request.page - 1) * request.per_page
        return WebhookDeliveryPage(
            items=items[start : start + request.per_page], total=len(items),
            page=request.page, per_page=request.per_page,
        )  # fmt: skip


@pytest.fixture
async def dialer(nc: Client) -> AsyncIterator[DialerDouble]:
    double = DialerDouble()

    async def on_request(msg: Msg) -> None:
        await msg.respond(encode(double.answer(decode(msg.data, ListWebhookDeliveries))))

    sub = await nc.subscribe(
        dialer_request_subject("ListWebhookDeliveries"), queue=DIALER_REQUESTS_QUEUE,
        cb=on_request,
    )  # fmt: skip
    await nc.flush()
    yield double
    await sub.unsubscribe()


async def owned_campaign(
    client: httpx.AsyncClient, headers: dict[str, str], dialer: DialerDouble
) -> int:
    created = await client.post("/api/v1/campaigns", json=BODY, headers=headers)
    assert created.status_code == 201, created.text
    me = await client.get("/api/v1/me", headers=headers)
    dialer.owner = me.json()["id"]
    cid: int = created.json()["id"]
    return cid


async def test_the_log_is_paged_in_the_documented_shape_in_the_account_zone(
    client: httpx.AsyncClient, headers: dict[str, str], dialer: DialerDouble
) -> None:
    cid = await owned_campaign(client, headers, dialer)
    answer = await client.get(f"/api/v1/campaigns/{cid}/webhooks", headers=headers)
    assert answer.status_code == 200, answer.text
    page = msgspec.convert(answer.json(), WebhookDeliveryPageOut, strict=True)
    assert (page.total, page.page, page.per_page, len(page.items)) == (120, 1, 50, 50)
    newest = answer.json()["items"][0]
    assert newest == {
        "id": f"msg_{120:032x}", "event": "CallCompleted", "call_id": "1000001-0-79160000120-1",
        "state": "delivered", "attempts": 1, "last_status": 200, "last_error": None,
        "created_at": "2026-11-29T13:00:00+03:00", "next_attempt_at": None,
        "delivered_at": "2026-11-29T13:00:00+03:00",
    }  # fmt: skip
    pending = await client.get(
        f"/api/v1/campaigns/{cid}/webhooks",
        params={"state": "pending", "page": 2, "per_page": 40}, headers=headers,
    )  # fmt: skip
    body = pending.json()
    assert (body["total"], body["page"], body["per_page"], len(body["items"])) == (60, 2, 40, 20)
    assert {i["state"] for i in body["items"]} == {"pending"}
    assert body["items"][0]["next_attempt_at"] == "2026-11-29T13:00:05+03:00"
    assert dialer.requests[-1] == ListWebhookDeliveries(
        campaign_id=cid, account_id=dialer.owner, state="pending", page=2, per_page=40
    )


async def test_another_accounts_campaign_is_the_same_404_as_an_unknown_one(
    client: httpx.AsyncClient, headers: dict[str, str], admin: dict[str, str],
    dialer: DialerDouble,
) -> None:  # fmt: skip
    cid = await owned_campaign(client, headers, dialer)
    other = await client.post("/api/v1/accounts", json={"name": "B"}, headers=admin)
    them = {"Authorization": f"Bearer {other.json()['api_key']}"}
    theirs = await client.get(f"/api/v1/campaigns/{cid}/webhooks", headers=them)
    unknown = await client.get("/api/v1/campaigns/987654321/webhooks", headers=headers)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["error"]["code"] == unknown.json()["error"]["code"] == "not_found"
    assert dialer.requests == []  # the dialer was never asked


@pytest.mark.parametrize(
    "params",
    [{"per_page": 0}, {"per_page": 201}, {"page": 0}, {"page": "x"}, {"state": "lost"}],
)
async def test_bad_paging_or_state_is_a_422_in_the_error_shape(
    client: httpx.AsyncClient, headers: dict[str, str], dialer: DialerDouble,
    params: dict[str, Any],
) -> None:  # fmt: skip
    cid = await owned_campaign(client, headers, dialer)
    answer = await client.get(f"/api/v1/campaigns/{cid}/webhooks", params=params, headers=headers)
    assert answer.status_code in (400, 422), answer.text
    assert set(answer.json()["error"]) == {"code", "message", "details"}
    assert dialer.requests == []


async def test_the_endpoint_is_in_the_openapi_schema(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/api/v1/campaigns/{campaign_id}/webhooks"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"campaign_id", "state", "page",
                                                             "per_page"}  # fmt: skip
    assert "200" in operation["responses"] and "4XX" in operation["responses"]
