"""Sharing the projection's units (the campaign stream, each call partition) between the
running stats instances by lease: each instance holds about its fair share — the units
divided by the live instances, rounded up — and runs one consumer per unit it holds.

Every `ttl / 3` an instance says it is alive, renews its leases, gives back what is over
its share (a newcomer then finds free units) and takes free units up to its share. A lease
not renewed for `ttl` expires: an instance that died loses its units after at most `ttl`,
and one that could not renew in time stops their consumers itself.

Correctness does not rest on the lease: each unit's checkpoint is locked and advanced in
the transaction that applies its batch, and a call already in the ledger is not counted
again, so two instances that briefly both run a unit only take turns."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence

import structlog

from zvonar_stats.domain.partitions import fair_share
from zvonar_stats.service_layer.ports import Leases, RunUnit

log = structlog.get_logger("zvonar.stats.partitions")


class Shares:
    def __init__(
        self, leases: Leases, run_unit: RunUnit, units: Sequence[str], owner: str, ttl: float
    ) -> None:
        if ttl <= 0:
            raise ValueError("a lease's time must be positive")
        self.leases = leases
        self.run_unit = run_unit
        self.units = list(units)
        self.owner = owner
        self.ttl = ttl
        self.held: dict[str, int] = {}  # unit -> the lease's revision
        self._renewed: dict[str, float] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.changed = asyncio.Event()  # set whenever `held` changes

    async def run(self) -> None:
        """Takes part until cancelled; then stops its consumers and frees its leases."""
        while True:
            try:
                await self.leases.open()
                break
            except Exception as exc:  # NATS not answering yet: the service waits for it
                log.warning("leases_unavailable", owner=self.owner, error=repr(exc))
                await asyncio.sleep(self.ttl / 3)
        try:
            while True:
                try:
                    await self.tick()
                except Exception as exc:  # NATS out of reach: leases age; see _expire
                    log.warning("lease_tick_failed", owner=self.owner, error=repr(exc))
                    await self._expire()
                await asyncio.sleep(self.ttl / 3)
        finally:
            await self._give_up()

    async def tick(self) -> None:
        members = await self.leases.attend(self.owner)
        for unit, revision in list(self.held.items()):
            renewed = await self.leases.renew(unit, self.owner, revision)
            if renewed is None:
                log.warning("lease_lost", unit=unit, owner=self.owner)
                await self._stop(unit)
                continue
            self.held[unit] = renewed
            self._renewed[unit] = time.monotonic()
            self._restart_if_ended(unit)
        share = fair_share(len(self.units), members)
        for unit in sorted(self.held, reverse=True)[: max(0, len(self.held) - share)]:
            revision = self.held[unit]
            await self._stop(unit)
            await self.leases.release(unit, revision)
            log.info("lease_released", unit=unit, owner=self.owner, share=share)
        for unit in self.units:
            if len(self.held) >= share:
                break
            if unit in self.held:
                continue
            taken = await self.leases.acquire(unit, self.owner)
            if taken is not None:
                self.held[unit] = taken
                self._renewed[unit] = time.monotonic()
                self._start(unit)
                log.info("lease_taken", unit=unit, owner=self.owner, share=share)

    def _start(self, unit: str) -> None:
        self._tasks[unit] = asyncio.create_task(self.run_unit(unit), name=f"stats-{unit}")
        self._changed()

    def _restart_if_ended(self, unit: str) -> None:
        task = self._tasks.get(unit)
        if task is not None and task.done():
            if not task.cancelled() and task.exception() is not None:
                log.error("unit_consumer_failed", unit=unit, error=repr(task.exception()))
            self._start(unit)

    async def _stop(self, unit: str) -> None:
        self.held.pop(unit, None)
        self._renewed.pop(unit, None)
        task = self._tasks.pop(unit, None)
        if task is not None:
            task.cancel()
            # asyncio.wait, not `await task` under suppress(CancelledError): a cancel of this
            # task itself (the service stopping) must not be swallowed as the unit's own.
            await asyncio.wait([task])
        self._changed()

    async def _expire(self) -> None:
        """Stops the units whose lease could not be renewed within its time: another
        instance may hold them by now."""
        now = time.monotonic()
        for unit in [u for u, at in self._renewed.items() if now - at >= self.ttl]:
            log.warning("lease_expired", unit=unit, owner=self.owner)
            await self._stop(unit)

    async def _give_up(self) -> None:
        held = dict(self.held)
        for unit in list(held):
            await self._stop(unit)
        for unit, revision in held.items():
            with contextlib.suppress(Exception):
                await self.leases.release(unit, revision)
        with contextlib.suppress(Exception):
            await self.leases.leave(self.owner)

    def _changed(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()
