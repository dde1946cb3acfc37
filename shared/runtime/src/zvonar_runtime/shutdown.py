"""Graceful shutdown: SIGINT and SIGTERM become an asyncio.Event the service awaits, and
`until_stopped` lets a start-up step (connecting, creating streams, opening the store) be
given up as soon as that event is set."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class Stopped(Exception):
    """SIGINT or SIGTERM arrived before the step was done; the step was cancelled."""


def shutdown_event() -> asyncio.Event:
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, event.set)
    return event


async def until_stopped(stop: asyncio.Event, step: Awaitable[T], *, cancel_wait: float = 2.0) -> T:
    """The result of `step`, or `Stopped` once `stop` is set first (the step is cancelled
    and given `cancel_wait` seconds to unwind)."""
    task = asyncio.ensure_future(step)
    waiter = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await asyncio.wait_for(task, cancel_wait)
    raise Stopped
