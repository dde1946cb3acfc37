"""The rate limit every replica shares (adapters/kv_ratelimit.py), on a real nats-server:
never more than the burst across replicas at a frozen clock, however the requests race;
a replica refused early by at most the tokens the others hold."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client

from zvonar_gateway.adapters.kv_ratelimit import SharedRateLimiter, default_chunk
from zvonar_runtime.jetstream import connect

pytestmark = pytest.mark.integration

NOW = 1_800_000_000.0


@pytest.fixture
async def connections(nats_url: str) -> AsyncIterator[list[Client]]:
    clients = [await connect(nats_url, f"limiter-{i}") for i in range(3)]
    yield clients
    for client in clients:
        await client.close()


async def test_racing_replicas_never_let_more_than_the_burst_through(
    connections: list[Client],
) -> None:
    burst, chunk = 30, 4
    limiters = [
        SharedRateLimiter(nc, rate=1.0, burst=burst, chunk=chunk, clock=lambda: NOW)
        for nc in connections
    ]
    key = uuid.uuid4().hex
    waits = await asyncio.gather(*(limiters[i % 3].acquire(key) for i in range(120)))
    allowed = sum(wait == 0.0 for wait in waits)
    # Exactly as one bucket would, less what the other two replicas hold unspent.
    assert burst - 2 * chunk <= allowed <= burst
    assert all(wait == pytest.approx(1.0, abs=0.01) for wait in waits if wait > 0)


async def test_a_key_refills_at_its_rate_for_every_replica(connections: list[Client]) -> None:
    now = [NOW]
    one, two = (
        SharedRateLimiter(nc, rate=2.0, burst=4, chunk=1, clock=lambda: now[0])
        for nc in connections[:2]
    )
    key = uuid.uuid4().hex
    assert [await one.acquire(key) for _ in range(4)] == [0.0] * 4
    assert await two.acquire(key) == pytest.approx(0.5)
    now[0] += 1.0  # two tokens back, taken by whichever replica asks
    assert await two.acquire(key) == 0.0
    assert await one.acquire(key) == 0.0
    assert await two.acquire(key) > 0.0


async def test_without_nats_a_replica_limits_alone_instead_of_failing(nats_url: str) -> None:
    nc = await connect(nats_url, "limiter-cut")
    limiter = SharedRateLimiter(nc, rate=1.0, burst=3, chunk=1, timeout=0.5, clock=lambda: NOW)
    key = uuid.uuid4().hex
    assert await limiter.acquire(key) == 0.0  # through the shared bucket
    await nc.close()
    # NATS gone: the replica's own bucket of the same size answers, no error.
    assert [await limiter.acquire(key) for _ in range(3)] == [0.0] * 3
    assert await limiter.acquire(key) > 0.0


@pytest.mark.parametrize(
    ("rate", "burst", "chunk"),
    [(50.0, 200, 5), (1_000_000.0, 1_000_000, 50_000), (0.5, 12, 1), (1000.0, 40, 2)],
)
def test_the_default_chunk_is_a_tenth_of_a_second_at_most_a_twentieth_of_the_burst(
    rate: float, burst: int, chunk: int
) -> None:
    assert default_chunk(rate, burst) == chunk
