"""The relay stops when asked, also when the stop comes in the same turn as a wake-up: on
Python 3.11 `asyncio.wait_for` returned the wake-up and dropped the stop, and the relay
polled on for ever (a campaign-service test teardown hung 300 s on it)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from zvonar_campaign.adapters.relay import Relay


async def test_a_stop_that_comes_with_a_wakeup_still_stops_the_relays_wait() -> None:
    relay = SimpleNamespace(wakeup=asyncio.Event(), poll_interval=30.0)
    waiting = asyncio.create_task(Relay._idle(relay))  # type: ignore[arg-type]
    await asyncio.sleep(0)  # the relay is in its wait
    relay.wakeup.set()  # a command was stored ...
    waiting.cancel()  # ... and the service is told to stop, in the same turn
    done, _ = await asyncio.wait([waiting], timeout=10)
    assert waiting in done
    assert waiting.cancelled()


async def test_a_wakeup_alone_ends_the_wait_and_is_consumed() -> None:
    relay = SimpleNamespace(wakeup=asyncio.Event(), poll_interval=30.0)
    waiting = asyncio.create_task(Relay._idle(relay))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    relay.wakeup.set()
    await asyncio.wait_for(waiting, 10)
    assert not relay.wakeup.is_set()


async def test_the_wait_ends_after_the_poll_interval() -> None:
    relay = SimpleNamespace(wakeup=asyncio.Event(), poll_interval=0.01)
    await asyncio.wait_for(Relay._idle(relay), 10)  # type: ignore[arg-type]
