"""Driving the running stack the way a customer and an operator would: create campaigns
over HTTP, read the list read model over NATS (the stats list query itself)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from typing import Any

import httpx
from nats.aio.client import Client

from zvonar_contracts import subjects
from zvonar_contracts.codec import decode_query_reply, encode
from zvonar_contracts.queries import CampaignPage, CampaignView, ListCampaigns

TTS = {"kind": "tts", "text": "Здравствуйте! Это проверка скорости."}
# Far enough ahead that the dialer's fast clock never reaches it during a run.
FAR_FUTURE = "2099-01-01T00:00:00+00:00"


def phones(campaign_index: int, count: int) -> list[str]:
    """`count` distinct valid Russian mobile numbers; last digits cycle through every
    outcome of the simulated carrier."""
    return [f"+7916{campaign_index:03d}{i:04d}" for i in range(count)]


async def create_campaigns(
    base_url: str, api_key: str, bodies: Sequence[dict[str, Any]], concurrency: int = 4
) -> list[int]:
    """Create every campaign over HTTP (JSON body); their ids, in order."""
    limit = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120) as client:

        async def one(body: dict[str, Any]) -> int:
            async with limit:
                response = await client.post("/api/v1/campaigns", json=body)
            if response.status_code != 201:
                raise RuntimeError(f"create failed: {response.status_code} {response.text[:300]}")
            return int(response.json()["id"])

        return list(await asyncio.gather(*(one(b) for b in bodies)))


def campaign_body(index: int, numbers: int, *, speed: int = 100000, **extra: Any) -> dict[str, Any]:
    return {
        "name": f"bench {index}",
        "phones": phones(index, numbers),
        "audio": TTS,
        "speed": speed,
        **extra,
    }


async def list_campaigns(
    nc: Client, account_id: str, ids: list[int] | None = None, per_page: int = 200
) -> list[CampaignView]:
    """Every row of the account (or of `ids`), through the stats list query."""
    rows: list[CampaignView] = []
    page = 1
    while True:
        query = ListCampaigns(account_id=account_id, ids=ids, page=page, per_page=per_page)
        reply = await nc.request(
            subjects.stats_query_subject("ListCampaigns"), encode(query), timeout=30
        )
        result = decode_query_reply(reply.data)
        if not isinstance(result, CampaignPage):
            raise RuntimeError(f"list query failed: {result}")
        rows.extend(result.items)
        if len(rows) >= result.total or not result.items:
            return rows
        page += 1


def final_count(row: CampaignView) -> int:
    """Numbers of the main pass whose result is known."""
    return row.size.total - row.size.in_progress


async def wait_rows(
    nc: Client, account_id: str, count: int, statuses: set[str], timeout: float
) -> list[CampaignView]:
    """Poll until `count` rows of the account are in one of `statuses`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        rows = await list_campaigns(nc, account_id)
        if sum(1 for r in rows if r.status in statuses) >= count:
            return rows
        if loop.time() > deadline:
            seen = sorted({r.status for r in rows})
            raise TimeoutError(f"{count} rows in {statuses} not reached; saw {seen}")
        await asyncio.sleep(0.25)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
