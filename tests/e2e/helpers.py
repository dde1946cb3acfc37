"""Small helpers for end-to-end tests: waiting on a campaign over the HTTP API and asking
the dialer its clock over NATS."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx

from tests.stack import Stack, wait_for
from zvonar_contracts.codec import decode, encode
from zvonar_contracts.dialer import ClockReply, GetClock
from zvonar_contracts.subjects import dialer_request_subject
from zvonar_runtime.jetstream import connect

SIZE_KEYS = ("total", "stop_listed", "answered", "leads", "not_answered", "in_progress")


def create(client: httpx.Client, **body: Any) -> dict[str, Any]:
    body.setdefault("audio", {"kind": "tts", "text": "Здравствуйте! Это тестовая рассылка."})
    response = client.post("/api/v1/campaigns", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def get(client: httpx.Client, campaign_id: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/campaigns/{campaign_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def wait_status(
    client: httpx.Client, campaign_id: int, *statuses: str, timeout: float = 60.0
) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        campaign = get(client, campaign_id)
        return campaign if campaign["status"] in statuses else None

    return wait_for(probe, timeout, 0.2, f"campaign {campaign_id} to be {statuses}")


def size_tuple(size: dict[str, int]) -> tuple[int, ...]:
    return tuple(size[k] for k in SIZE_KEYS)


def dialer_now(stack: Stack) -> dt.datetime:
    async def ask() -> dt.datetime:
        nc = await connect(stack.nats_url, "e2e-clock", auth=stack.nats_auth())
        try:
            msg = await nc.request(dialer_request_subject("GetClock"), encode(GetClock()), 5)
        finally:
            await nc.close()
        return decode(msg.data, ClockReply).now

    return asyncio.run(ask())
