"""The dialer's decoded messages stay within their byte budget, least recently used out,
and a burst of calls that miss the cache reads and decodes the message once."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc

import pytest

from zvonar_dialer.adapters.audio import LINE_RATE, Message
from zvonar_dialer.service_layer.message_cache import MessageCache

MB = 1024 * 1024


def a_message(megabytes: float, fill: int = 1) -> Message:
    return Message(bytes([fill]) * int(megabytes * MB), LINE_RATE)


def test_the_least_recently_used_message_goes_first() -> None:
    cache = MessageCache(budget_bytes=3 * MB)
    for campaign_id in (1, 2, 3):
        cache.put(campaign_id, a_message(1))
    assert cache.get(1) is not None  # 2 is now the least recently used
    cache.put(4, a_message(1))
    assert (1 in cache, 2 in cache, 3 in cache, 4 in cache) == (True, False, True, True)
    assert cache.size_bytes == 3 * MB


def test_a_message_over_the_whole_budget_is_not_kept() -> None:
    cache = MessageCache(budget_bytes=2 * MB)
    cache.put(1, a_message(1))
    cache.put(2, a_message(3))
    assert 2 not in cache and 1 in cache and cache.size_bytes == MB


def test_keep_only_forgets_campaigns_that_are_over() -> None:
    cache = MessageCache(budget_bytes=10 * MB)
    for campaign_id in (1, 2, 3):
        cache.put(campaign_id, a_message(1))
    cache.keep_only({2})
    assert len(cache) == 1 and 2 in cache and cache.size_bytes == MB


async def test_memory_stays_within_the_budget_however_many_campaigns_play() -> None:
    """Forty campaigns of 1 MB messages through a 4 MB cache: what stays allocated once the
    callers let go is the budget, not forty messages (the old dict kept every one)."""
    cache = MessageCache(budget_bytes=4 * MB)
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for campaign_id in range(40):

            async def load(fill: int = campaign_id) -> Message:
                return a_message(1, fill % 256)

            message = await cache.get_or_load(campaign_id, load)
            assert message.pcm[0] == campaign_id % 256
        del message
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert cache.size_bytes <= 4 * MB and len(cache) == 4
    assert held - before < 5 * MB


async def test_callers_that_miss_at_once_share_one_load() -> None:
    cache = MessageCache(budget_bytes=4 * MB)
    loads = 0
    release = asyncio.Event()

    async def load() -> Message:
        nonlocal loads
        loads += 1
        await release.wait()
        return a_message(0.5)

    waiting = [asyncio.ensure_future(cache.get_or_load(7, load)) for _ in range(50)]
    release.set()
    messages = await asyncio.wait_for(asyncio.gather(*waiting), timeout=10)
    assert loads == 1
    assert all(m is messages[0] for m in messages)
    assert cache.get(7) is messages[0]


async def test_a_failed_load_is_tried_again_by_the_next_caller() -> None:
    cache = MessageCache(budget_bytes=4 * MB)
    attempts = 0

    async def load() -> Message:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise LookupError("not there yet")
        return a_message(0.1)

    with pytest.raises(LookupError):
        await cache.get_or_load(1, load)
    assert (await cache.get_or_load(1, load)).nbytes == int(0.1 * MB)
    assert attempts == 2
