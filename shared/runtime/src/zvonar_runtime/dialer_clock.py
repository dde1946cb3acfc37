"""The dialer's clock for every service, without asking the dialer: the dialer writes its
origin and scale (zvonar_contracts.clock.ClockOrigin) to a key-value entry at start, and a
ClockReader reads it once and then follows it, computing "dialer now" locally.

Until a dialer has ever written the entry, the dialer's time is the wall clock (what a
dialer that has just created its store would read)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable

import msgspec
import structlog
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from zvonar_contracts.clock import ClockOrigin
from zvonar_contracts.codec import decode, encode
from zvonar_contracts.subjects import DIALER_CLOCK_BUCKET, DIALER_CLOCK_KEY

log = structlog.get_logger("zvonar.dialer_clock")
# How long the first read may wait for the server before it gives up (start-up only).
FIRST_READ_TIMEOUT_S = 30.0


def wall_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def publish_clock(js: JetStreamContext, origin: ClockOrigin) -> None:
    """Written by the dialer at start (every instance writes the same origin)."""
    kv = await js.key_value(DIALER_CLOCK_BUCKET)
    await kv.put(DIALER_CLOCK_KEY, encode(origin))


class ClockReader:
    """`now()` is the dialer's time, computed from the latest entry; `start` reads the entry
    and follows its changes until `stop`."""

    def __init__(self, wall: Callable[[], dt.datetime] = wall_now) -> None:
        self._wall = wall
        self.origin: ClockOrigin | None = None
        self._watcher: KeyValue.KeyWatcher | None = None
        self._task: asyncio.Task[None] | None = None
        self._said_missing = False

    def now(self) -> dt.datetime:
        origin = self.origin
        if origin is None:
            if not self._said_missing:
                self._said_missing = True
                log.warning("dialer_clock_not_published", fallback="wall clock")
            return self._wall()
        return origin.at(self._wall())

    async def start(self, js: JetStreamContext) -> None:
        """The current entry is read before this returns; later ones arrive in the background."""
        kv = await js.key_value(DIALER_CLOCK_BUCKET)
        watcher = await kv.watch(DIALER_CLOCK_KEY)
        self._watcher = watcher
        while True:  # the current entry (if any), then None: the initial state is read
            # nats-py's KeyWatcher methods carry no annotations.
            entry = await watcher.updates(timeout=FIRST_READ_TIMEOUT_S)  # type: ignore[no-untyped-call]
            if entry is None:
                break
            self._take(entry)
        self._task = asyncio.create_task(self._follow(watcher), name="dialer-clock-reader")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._watcher is not None:
            with contextlib.suppress(Exception):  # the connection may be closed already
                await self._watcher.stop()  # type: ignore[no-untyped-call]
            self._watcher = None

    async def _follow(self, watcher: KeyValue.KeyWatcher) -> None:
        async for entry in watcher:
            if entry is not None:
                self._take(entry)

    def _take(self, entry: KeyValue.Entry) -> None:
        if entry.operation is not None or not entry.value:  # deleted or purged: keep the last
            return
        try:
            origin = decode(entry.value, ClockOrigin)
        except msgspec.DecodeError as exc:
            log.error("dialer_clock_undecodable", error=str(exc), revision=entry.revision)
            return
        if origin != self.origin:
            log.info("dialer_clock_read", origin=origin.dialer.isoformat(), scale=origin.scale)
        self.origin = origin
