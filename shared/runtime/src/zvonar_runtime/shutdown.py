"""Graceful shutdown: SIGINT and SIGTERM become an asyncio.Event the service awaits;
`until_stopped` lets a start-up step be given up as soon as that event is set; a stop that
a library swallowed is raised again; each step of a shutdown is bounded in time."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

import structlog

log = structlog.get_logger("zvonar.shutdown")
T = TypeVar("T")


class Stopped(Exception):
    """SIGINT or SIGTERM arrived before the step was done; the step was cancelled."""


def shutdown_event() -> asyncio.Event:
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, event.set)
    return event


def raise_if_stopping() -> None:
    """Raise CancelledError if the current task was asked to stop and the request was lost.

    Python 3.11's `asyncio.wait_for` returns the awaited result when the cancellation comes
    in the same turn of the loop as that result — and nats-py's `request` (so every
    JetStream API call: stream_info, consumer_info, publish) awaits through it. The task
    then stays marked `cancelling()` with no CancelledError raised, and a background loop
    runs on for ever. Loops call this at the top of each round so such a stop still stops
    them."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def stop_tasks(tasks: Iterable[asyncio.Task[None]], timeout_s: float) -> list[str]:
    """Cancel `tasks` and wait up to `timeout_s` for them to end; the names of those still
    running then (each logged with where it waits; it is cancelled once more)."""
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if not pending:
        return []
    _, still = await asyncio.wait(pending, timeout=timeout_s)
    stuck: list[str] = []
    for task in still:
        stack = "".join(
            f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}\n"
            for frame in task.get_stack()
        )
        log.error(
            "shutdown.task_not_stopped",
            task=task.get_name(),
            seconds=timeout_s,
            cancelling=task.cancelling(),
            stack=stack,
        )
        task.cancel()
        stuck.append(task.get_name())
    return stuck


async def bounded(step: Callable[[], Awaitable[object]], what: str, timeout_s: float) -> bool:
    """Run one shutdown step for at most `timeout_s`; False (logged) if it failed or ran
    over, so that the steps after it still run. The step runs as its own task, waited on
    with a deadline: one that swallows its cancellation cannot hold the shutdown either."""

    async def run() -> None:
        await step()

    task = asyncio.ensure_future(run())
    done, _ = await asyncio.wait([task], timeout=timeout_s)
    if not done:
        log.error("shutdown.step_timed_out", step=what, seconds=timeout_s)
        task.cancel()
        return False
    if task.cancelled() or task.exception() is not None:
        error = None if task.cancelled() else task.exception()
        log.error("shutdown.step_failed", step=what, error=repr(error))
        return False
    return True


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
        await asyncio.wait([task], timeout=cancel_wait)
    raise Stopped
