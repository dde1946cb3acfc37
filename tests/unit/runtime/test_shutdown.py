"""Shutdown steps are bounded: a task or a step that swallows its cancellation is given up
on (and logged) after its time, never waited on for ever; a swallowed stop is raised again."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from zvonar_runtime.shutdown import bounded, raise_if_stopping, stop_tasks


async def _waits() -> None:
    await asyncio.Event().wait()


async def _swallows_one_stop(started: asyncio.Event, release: asyncio.Event) -> None:
    started.set()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.Event().wait()
    await release.wait()  # runs on after its stop, until the test lets it go


async def test_a_task_that_swallows_its_stop_is_given_up_on_after_its_time() -> None:
    started, release = asyncio.Event(), asyncio.Event()
    stuck = asyncio.create_task(_swallows_one_stop(started, release), name="stuck")
    well = asyncio.create_task(_waits(), name="well")
    await started.wait()

    async with asyncio.timeout(5):
        names = await stop_tasks([stuck, well], timeout_s=0.2)

    assert names == ["stuck"]
    assert well.cancelled()
    release.set()
    with contextlib.suppress(asyncio.CancelledError):
        await stuck


async def test_a_step_that_swallows_its_timeout_is_given_up_on_after_its_time() -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async with asyncio.timeout(5):
        ok = await bounded(lambda: _swallows_one_stop(started, release), "stuck", 0.2)

    assert not ok
    release.set()


async def test_a_step_that_fails_is_logged_and_the_shutdown_goes_on() -> None:
    async def fails() -> None:
        raise RuntimeError("gone")

    async def closes() -> None:
        await asyncio.sleep(0)

    assert not await bounded(fails, "fails", 1.0)
    assert await bounded(closes, "closes", 1.0)


async def test_a_swallowed_stop_is_raised_again() -> None:
    started = asyncio.Event()

    async def loop() -> None:
        while True:
            raise_if_stopping()
            started.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.Event().wait()

    running = asyncio.create_task(loop())
    await started.wait()
    running.cancel()
    done, _ = await asyncio.wait([running], timeout=5)
    assert running in done
    assert running.cancelled()
    with pytest.raises(asyncio.CancelledError):
        await running
