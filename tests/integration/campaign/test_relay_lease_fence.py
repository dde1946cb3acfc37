"""The relay lease on a real nats-server: one holder; a holder that stopped renewing (a
paused process) loses it to a standby once it expires, and its next fence refuses, so it
publishes nothing more; giving a lease up lets a standby take it at once, and a relay that
lost its lease cannot give up the new holder's."""

from __future__ import annotations

import asyncio
import time

import pytest
from nats.aio.client import Client

from zvonar_campaign.adapters.relay_lease import LEASE_BUCKET, LeaseLost, RelayLease

pytestmark = pytest.mark.integration

TTL = 1.0


async def test_a_holder_that_stopped_renewing_is_fenced_off(client: Client) -> None:
    js = client.jetstream()
    a = RelayLease(js, holder="relay-a", ttl=TTL)
    b = RelayLease(js, holder="relay-b", ttl=TTL)
    await a.acquire()
    await a.fence()  # renewed while it holds it
    began = time.monotonic()
    standby = asyncio.create_task(b.acquire())
    # relay-a is paused from here: no renewal. relay-b takes over once the entry expires.
    await asyncio.wait_for(standby, timeout=TTL + 10)
    took = time.monotonic() - began
    assert b.holding and took >= TTL * 0.9, took
    kv = await js.key_value(LEASE_BUCKET)
    assert (await kv.get("relay")).value == b"relay-b"
    with pytest.raises(LeaseLost, match="relay-b"):
        await a.fence()
    assert not a.holding
    await a.release()  # nothing of its own to give up: relay-b keeps the lease
    assert (await kv.get("relay")).value == b"relay-b"
    await b.fence()

    # A clean stop gives the lease up: a standby takes it without waiting for it to expire.
    released_at = time.monotonic()
    await b.release()
    await asyncio.wait_for(a.acquire(), timeout=TTL)
    assert a.holding and time.monotonic() - released_at < TTL
    assert (await kv.get("relay")).value == b"relay-a"


async def test_the_bucket_ttl_wins_over_a_relays_own(client: Client) -> None:
    js = client.jetstream()
    first = RelayLease(js, holder="relay-a", ttl=TTL)
    await first.acquire()
    later = RelayLease(js, holder="relay-b", ttl=30.0)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(later.acquire(), timeout=0.2)
    assert later.ttl == TTL  # it renews (and polls) by the bucket's max age
