"""The create row's baseline: creates of a bare `eventsourcing` aggregate carrying what a
CampaignCreated of a 10-number campaign carries, 32 at a time from threads — no NATS, no
HTTP, no validation, no relay — on a FRESH PostgreSQL database of its own (not the stack's
database, still busy with the tail of the HTTP phase), with the campaign service's own
recorder settings (`eventstore_env`: the events table lock kept — no
POSTGRES_ENABLE_DB_FUNCTIONS, which would let a reader see id 3 before id 2 commits)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.common import postgres_database
from zvonar_campaign.adapters.eventstore import POSTGRES_SCHEMA, eventstore_env
from zvonar_campaign.settings import CampaignSettings

SCHEMA = POSTGRES_SCHEMA


class BenchCampaign(Aggregate):
    @event("Created")
    def __init__(self, name: str, account_id: str, options: dict[str, Any], base: dict[str, Any]):
        self.name = name
        self.account_id = account_id
        self.options = options
        self.base = base


class BenchCampaigns(Application[UUID]):
    name = "bench_campaigns"

    def create(self, index: int) -> UUID:
        campaign = BenchCampaign(
            name=f"raw {index}",
            account_id="acc_bench",
            options={
                "speed": 800,
                "audio": {"kind": "tts", "text": "Здравствуйте!"},
                "record": False,
                "amd": False,
                "comment": "",
            },
            base={
                "bucket": "phone-bases",
                "name": f"{index:064x}",
                "count": 10,
                "sha256": f"{index:064x}",
            },
        )
        self.save(campaign)
        return campaign.id


def service_pool_size() -> int:
    """The eventsourcing pool the campaign service opens by default (CAMPAIGN_PG_POOL_SIZE)."""
    return int(CampaignSettings.model_fields["pg_pool_size"].default)


def _env(database_url: str, pool_size: int) -> dict[str, str]:
    """The campaign service's own eventsourcing environment (its recorder settings: the
    events table lock kept, no database functions), with the baseline's application name
    giving it tables of its own."""
    return eventstore_env(database_url, Path("unused.sqlite"), pool_size)


def creates_per_second(
    database_url: str, count: int, concurrency: int = 32, pool_size: int | None = None
) -> dict[str, float]:
    """Creates/s, p50 and p99 of `count` creates, `concurrency` at a time, on
    `database_url` — meant to be a fresh database of its own (see `fresh_creates`)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    pool = service_pool_size() if pool_size is None else pool_size
    app = BenchCampaigns(env=_env(database_url, pool))
    app.create(-1)  # tables and pool warm
    latencies: list[float] = []

    def one(index: int) -> None:
        started = time.perf_counter()
        app.create(index)
        latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as executor:
        list(executor.map(one, range(count)))
    seconds = time.perf_counter() - started
    app.close()
    latencies.sort()
    return {
        "rate": count / seconds,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
    }


def fresh_creates(
    count: int, concurrency: int = 32, pool_size: int | None = None
) -> dict[str, float]:
    """`creates_per_second` on a PostgreSQL database created for it, dropped after."""
    with postgres_database() as database_url:
        return creates_per_second(database_url, count, concurrency, pool_size)
