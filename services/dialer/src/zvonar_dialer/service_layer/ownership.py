"""Which campaigns this dialer dials, when several share one database (docs/scaling.md
"Dialers").

The campaigns are cut into partitions (campaign id modulo the partition count). A dialer
dials the campaigns of the partitions whose lease it holds, and only while it holds it:

- leases live in a key-value store with an age limit (the lease time); a round every third
  of it renews them, says this dialer is alive, and takes or hands over partitions so that
  each live dialer holds its share (the partition count over the live dialers, rounded up);
- each take-over raises the partition's fencing token in the database, and every
  transaction that claims numbers to dial or records results compares the token this dialer
  took with the stored one: a dialer that lost its lease (paused, cut off) and did not
  notice yet cannot dial or record anything once another took over;
- locally a lease counts only until three quarters of the lease time after the start of
  its last successful renewal, so a dialer that cannot renew stops before the lease can
  pass to another;
- a partition handed over (another dialer joined) first stops taking numbers; it is
  released once its calls in flight are recorded — calls still going on in this process
  (a real carrier's) are always waited for; calls left `placing` by a failure here only
  for one lease time: the next holder resolves them, as a restarted dialer does;
- a dialer that dies stops renewing: its leases age out and the others take its partitions
  and resolve its calls left `placing` (service_layer/recovery.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import partial
from typing import Protocol, TypeVar

import structlog

from zvonar_dialer.domain.partitions import OutboxScope, partition_of
from zvonar_dialer.service_layer.ports import Leases, Transactions, Tx
from zvonar_runtime.shutdown import raise_if_stopping

log = structlog.get_logger("zvonar.dialer.leases")
T = TypeVar("T")
# Share of the lease time a renewal counts for locally (the rest covers clock drift and the
# time the renewal took).
VALID_SHARE = 0.75
# Rounds per lease time.
ROUNDS_PER_TTL = 3
# How long giving the leases up at a stop may take.
RELEASE_ON_STOP_S = 3.0


class LeaseLost(Exception):
    """This dialer does not hold the lease of the campaign's partition (any more)."""


class Ownership(Protocol):
    """What the scheduler, recovery, dialling and the outbox ask."""

    def owns(self, campaign_id: int) -> bool:
        """Whether this dialer may dial the campaign now."""
        ...

    def check(self, tx: Tx, campaign_id: int, *, dialling: bool) -> None:
        """Inside a transaction: raise LeaseLost unless this dialer holds the campaign's
        lease under the fencing token stored now (`dialling`: and may dial by it now)."""
        ...

    def outbox_scope(self) -> OutboxScope | None:
        """The outbox rows this dialer publishes (None: all)."""
        ...


class SoleDialer:
    """Ownership when nothing is shared: every campaign (the unit tests' Deps, tools that
    run the dialer's code on a store of their own)."""

    def owns(self, campaign_id: int) -> bool:
        return True

    def check(self, tx: Tx, campaign_id: int, *, dialling: bool) -> None:
        return None

    def outbox_scope(self) -> OutboxScope | None:
        return None


def fenced(
    ownership: Ownership, campaign_id: int, work: Callable[[Tx], T], *, dialling: bool
) -> Callable[[Tx], T]:
    """`work` run only after the fence check of `campaign_id`, in the same transaction."""

    def run(tx: Tx) -> T:
        ownership.check(tx, campaign_id, dialling=dialling)
        return work(tx)

    return run


def _take_fence(tx: Tx, part_no: int, holder: str) -> int:
    return tx.take_fence(part_no, holder)


@dataclass(frozen=True)
class Lease:
    revision: int  # the key's revision this dialer wrote last
    fence: int  # the fencing token taken with it
    valid_until: float  # monotonic seconds; past it, this dialer does not use the lease
    leaving_since: float | None = None  # handed over: no new numbers taken since then


def lease_name(part_no: int) -> str:
    return f"p.{part_no}"


class PartitionOwnership:
    def __init__(
        self,
        db: Transactions,
        leases: Leases,
        instance_id: str,
        partitions: int,
        *,
        on_taken: Callable[[], None] = lambda: None,
        calls_here: Callable[[], Collection[str]] = frozenset,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if partitions < 1:
            raise ValueError(f"partitions: {partitions} (at least 1)")
        self._db = db
        self._leases = leases
        self.instance_id = instance_id
        self.partitions = partitions
        self._on_taken = on_taken
        self._calls_here = calls_here  # call ids this process is placing now
        self._clock = clock
        self.held: dict[int, Lease] = {}
        self.members: set[str] = {instance_id}
        # A partition's rank for this dialer: each dialer prefers other partitions, so that
        # dialers starting together take different ones.
        self._rank = {
            p: hashlib.blake2b(f"{instance_id}/{p}".encode(), digest_size=8).digest()
            for p in range(partitions)
        }

    @property
    def ttl_s(self) -> float:
        return self._leases.ttl_s

    @property
    def round_s(self) -> float:
        return self.ttl_s / ROUNDS_PER_TTL

    def partition_of(self, campaign_id: int) -> int:
        return partition_of(campaign_id, self.partitions)

    # --- asked by the rest of the dialer --------------------------------------------------
    def _lease(self, campaign_id: int, *, dialling: bool) -> Lease | None:
        """The lease of the campaign's partition if this dialer may use it: to dial, only
        while it is valid here and not being handed over; to record the results of calls
        already placed, as long as it was not found lost (the fence decides)."""
        lease = self.held.get(self.partition_of(campaign_id))
        if lease is None or not dialling:
            return lease
        if self._clock() >= lease.valid_until or lease.leaving_since is not None:
            return None
        return lease

    def owns(self, campaign_id: int) -> bool:
        return self._lease(campaign_id, dialling=True) is not None

    def check(self, tx: Tx, campaign_id: int, *, dialling: bool) -> None:
        part_no = self.partition_of(campaign_id)
        lease = self._lease(campaign_id, dialling=dialling)
        if lease is None:
            raise LeaseLost(f"campaign {campaign_id}: partition {part_no} is not held here")
        stored = tx.fence_of(part_no)
        if stored != lease.fence:
            raise LeaseLost(
                f"campaign {campaign_id}: partition {part_no} was taken over "
                f"(fence {lease.fence}, now {stored})"
            )

    def outbox_scope(self) -> OutboxScope:
        now = self._clock()
        held = frozenset(p for p, lease in self.held.items() if now < lease.valid_until)
        return OutboxScope(self.partitions, held)

    # --- the rounds ------------------------------------------------------------------------
    async def run(self) -> None:
        """A round every third of the lease time until stopped; then the partitions with
        no call in flight are given up at once (the others age out)."""
        try:
            while True:
                raise_if_stopping()  # a stop that a NATS request swallowed (3.11's wait_for)
                try:
                    await self.round()
                except Exception:  # NATS or the database away for a moment
                    log.exception("leases_round_failed", held=sorted(self.held))
                await asyncio.sleep(self.round_s)
        finally:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                async with asyncio.timeout(RELEASE_ON_STOP_S):
                    await self.release_all()

    async def round(self) -> None:
        """Renew (first: nothing else may cost a lease), say this dialer is alive, then hand
        over what is above its share and take what is free up to it."""
        started = self._clock()
        await self._renew(started)
        await self._leases.heartbeat()
        self.members = await self._leases.members() | {self.instance_id}
        share = math.ceil(self.partitions / len(self.members))
        await self._hand_over(started, share)
        await self._take(share)

    async def _renew(self, started: float) -> None:
        valid_until = started + VALID_SHARE * self.ttl_s
        for part_no, lease in list(self.held.items()):
            revision = await self._leases.renew(lease_name(part_no), lease.revision)
            if revision is None:
                del self.held[part_no]
                log.warning("lease_lost", partition=part_no, fence=lease.fence)
                continue
            self.held[part_no] = Lease(revision, lease.fence, valid_until, lease.leaving_since)

    async def _hand_over(self, started: float, share: int) -> None:
        for part_no, lease in list(self.held.items()):
            if lease.leaving_since is None:
                continue
            waited = started - lease.leaving_since
            placing = await self._placing(part_no)
            if placing & set(self._calls_here()) or (placing and waited < self.ttl_s):
                continue
            del self.held[part_no]
            await self._leases.release(lease_name(part_no), lease.revision)
            log.info("lease_handed_over", partition=part_no, waited_s=round(waited, 3))
        keeping = sorted(
            (p for p, lease in self.held.items() if lease.leaving_since is None),
            key=self._rank.__getitem__,
        )
        for part_no in keeping[: max(0, len(keeping) - share)]:
            lease = self.held[part_no]
            self.held[part_no] = Lease(lease.revision, lease.fence, lease.valid_until, started)
            log.info("lease_handing_over", partition=part_no, members=len(self.members))

    async def _take(self, share: int) -> None:
        wanted = share - len(self.held)
        if wanted <= 0:
            return
        taken: list[int] = []
        for part_no in sorted(range(self.partitions), key=self._rank.__getitem__, reverse=True):
            if part_no in self.held:
                continue
            asked = self._clock()
            revision = await self._leases.acquire(lease_name(part_no))
            if revision is None:
                continue
            fence = await self._db.run(
                partial(_take_fence, part_no=part_no, holder=self.instance_id)
            )
            self.held[part_no] = Lease(revision, fence, asked + VALID_SHARE * self.ttl_s)
            taken.append(part_no)
            if len(taken) == wanted:
                break
        if taken:
            log.info("lease_taken", partitions=taken, held=len(self.held))
            self._on_taken()

    async def _placing(self, part_no: int) -> set[str]:
        partitions = self.partitions
        return await self._db.run(lambda tx: tx.partition_placing(partitions, part_no))

    async def release_all(self) -> None:
        """Give up every partition with no call in flight, and leave."""
        for part_no, lease in list(self.held.items()):
            if await self._placing(part_no):
                continue  # its calls' results are still to come: it ages out instead
            del self.held[part_no]
            await self._leases.release(lease_name(part_no), lease.revision)
        await self._leases.leave()
        log.info("leases_released", kept_until_aged_out=sorted(self.held))
