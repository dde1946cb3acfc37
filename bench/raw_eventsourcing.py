"""The create row's baseline: creates of a bare `eventsourcing` aggregate carrying what a
CampaignCreated carries, on the same PostgreSQL, 32 at a time from threads — no NATS, no
HTTP, no validation, no relay."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

SCHEMA = "bench_raw"


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
            options={"speed": 800, "audio": {"kind": "tts", "text": "Здравствуйте!"},
                     "record": False, "amd": False, "comment": ""},
            base={"bucket": "phone-bases", "name": f"{index:064x}", "count": 10},
        )  # fmt: skip
        self.save(campaign)
        return campaign.id


def _env(database_url: str) -> dict[str, str]:
    url = urlsplit(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": url.path.lstrip("/"),
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_SCHEMA": SCHEMA,
        # As the campaign service configures its pool.
        "POSTGRES_POOL_SIZE": "8",
        "POSTGRES_MAX_OVERFLOW": "8",
    }


def creates_per_second(database_url: str, count: int, concurrency: int = 32) -> dict[str, float]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    app = BenchCampaigns(env=_env(database_url))
    app.create(-1)  # tables and pool warm
    latencies: list[float] = []

    def one(index: int) -> None:
        started = time.perf_counter()
        app.create(index)
        latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(count)))
    seconds = time.perf_counter() - started
    app.close()
    latencies.sort()
    return {
        "rate": count / seconds,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
    }
