"""The per-key rate limit shared by every gateway replica, through a NATS key-value bucket.

One token bucket per key (an API key's hash) lives in the bucket as `<tokens> <unix time>`.
A replica does not go to NATS for every request: it takes tokens from the shared bucket in
small chunks (at most `chunk`, by default a tenth of a second of the rate and at most a
twentieth of the burst; at most a quarter of what is left, at least one) with a
revision-checked update, and spends them locally; only when its local tokens are gone does
a request pay a round trip (a compare-and-set update against the revision this replica
wrote last; after a conflict, a get and another try).

The bound: a token leaves the shared bucket only through a successful compare-and-set, so
across K replicas a key is never let through more than `burst + rate * t` requests in any
`t` seconds, exactly as with one. What chunking costs is the other way: tokens a replica
took and has not spent yet are not available to the others, so a key may be refused up to
`(K - 1) * chunk` requests early (a client whose requests all land on one replica is not
affected). Local tokens left unspent for `burst / rate` seconds are forgotten.

If NATS does not answer in time, the replica limits on its own (its local bucket of the same
`rate` and `burst`, so at most K times the limit across K replicas) for `FALLBACK_S`, and
logs it: a limiter that cannot reach NATS does not turn every request into an error.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

import nats.errors
import structlog
from nats.aio.client import Client
from nats.js.api import StorageType
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from prometheus_client import Counter

from zvonar_gateway.adapters.kv import SharedBucket
from zvonar_gateway.domain.ratelimit import RateLimiter

log = structlog.get_logger("zvonar.gateway.ratelimit")

RATE_LIMITS_BUCKET = "gateway-rate-limits"
# An entry is kept at least this long after its last change: longer than the bucket takes to
# refill at any usual settings (an entry forgotten early would let its key start full again;
# the bucket keeps the TTL it was made with when the settings change).
MIN_ENTRY_TTL_S = 600.0
# A conflict means another replica took tokens of the same key meanwhile: read and try again.
MAX_ATTEMPTS = 8
FALLBACK_S = 5.0
_LINK_ERRORS = (asyncio.TimeoutError, TimeoutError, nats.errors.Error)

SHARED_TAKES = Counter(
    "zvonar_gateway_rate_limit_shared_takes_total",
    "Round trips of the shared rate limit to NATS, by outcome",
    ["outcome"],
)


def default_chunk(rate: float, burst: int) -> int:
    """A tenth of a second's worth of the rate, at most a twentieth of the burst (a key is
    refused at most 5 % of its burst early per other replica): 5 at the default 50/s, 200."""
    return max(1, min(burst // 20, int(rate // 10)))


def _decode(value: bytes | None) -> tuple[float, float] | None:
    try:
        tokens, at = (value or b"").split()
        return float(tokens), float(at)
    except ValueError:
        return None  # not ours, or damaged: the key starts full again


class SharedRateLimiter:
    """`acquire(key)`: 0.0 if a request may go on, else the seconds until a token is free."""

    def __init__(
        self,
        nc: Client,
        rate: float,
        burst: int,
        *,
        chunk: int | None = None,
        replicas: int = 1,
        timeout: float = 0.5,
        bucket: str = RATE_LIMITS_BUCKET,
        clock: Callable[[], float] = time.time,
        max_keys: int = 100_000,
    ) -> None:
        if chunk is None:
            chunk = default_chunk(rate, burst)
        if rate <= 0 or burst < 1 or chunk < 1:
            raise ValueError("rate must be > 0, burst >= 1 and chunk >= 1")
        self.rate = rate
        self.burst = burst
        self.chunk = chunk
        self.max_keys = max_keys
        self._clock = clock
        self._timeout = timeout
        self._bucket = SharedBucket.latest(
            nc,
            bucket,
            "API rate limits per key (gateway)",
            ttl=max(MIN_ENTRY_TTL_S, 2 * burst / rate),
            storage=StorageType.MEMORY,
            replicas=replicas,
        )
        # key -> (tokens taken from the shared bucket not yet spent, when taken: monotonic)
        self._held: dict[str, tuple[float, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # key -> (revision, tokens, when) of the entry this replica wrote last
        self._known: dict[str, tuple[int, float, float]] = {}
        self._local = RateLimiter(rate, burst, max_keys=max_keys)
        self._alone_until = 0.0

    def _spend_held(self, key: str) -> bool:
        held = self._held.get(key)
        if held is None:
            return False
        tokens, taken = held
        if tokens < 1.0 or time.monotonic() - taken > self.burst / self.rate:
            del self._held[key]
            return False
        self._held[key] = (tokens - 1.0, taken)
        return True

    async def acquire(self, key: str) -> float:
        if self._spend_held(key):  # the fast path: no I/O
            return 0.0
        if time.monotonic() < self._alone_until:
            return self._local.acquire(key)
        lock = self._locks.get(key)
        if lock is None:
            if len(self._locks) >= self.max_keys:
                self._prune()
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            # Another request of the same key may have fetched tokens while this one waited.
            if self._spend_held(key):
                return 0.0
            try:
                async with asyncio.timeout(self._timeout):
                    taken, wait = await self._take(key)
            except _LINK_ERRORS as exc:
                SHARED_TAKES.labels("unavailable").inc()
                log.warning("rate_limit_store_unavailable", error=repr(exc), alone_for=FALLBACK_S)
                self._alone_until = time.monotonic() + FALLBACK_S
                return self._local.acquire(key)
        if taken == 0:
            return wait
        if taken > 1:
            self._held[key] = (taken - 1.0, time.monotonic())
        return 0.0

    def _prune(self) -> None:
        """Forget idle keys (no waiter, no tokens held): keeps memory bounded."""
        for key in [k for k, lock in self._locks.items() if not lock.locked()]:
            if key not in self._held:
                del self._locks[key]
        if len(self._held) >= self.max_keys:
            self._held.clear()  # unspent tokens forgotten: stricter, never looser

    async def _take(self, key: str) -> tuple[int, float]:
        """Tokens taken from the shared bucket (0: none free) and, if none, the wait. The
        entry this replica wrote last is assumed current (one round trip, the update); a
        conflict means another replica wrote since: read it, and try again."""
        kv = await self._bucket.get()
        known = self._known.pop(key, None)
        for _ in range(MAX_ATTEMPTS):
            if known is None:
                known = await self._read(kv, key)
            revision, tokens, at = known
            now = self._clock()
            tokens = min(float(self.burst), tokens + max(0.0, now - at) * self.rate)
            if tokens < 1.0:
                SHARED_TAKES.labels("limited").inc()
                self._known[key] = known
                return 0, (1.0 - tokens) / self.rate
            take = min(self.chunk, max(1, math.floor(tokens / 4)))
            left = tokens - take
            value = f"{left:.6f} {now:.6f}".encode()
            try:
                if revision:
                    revision = await kv.update(key, value, last=revision)
                else:
                    revision = await kv.create(key, value)
            except KeyWrongLastSequenceError:
                SHARED_TAKES.labels("conflict").inc()
                known = None
                continue
            SHARED_TAKES.labels("taken").inc()
            if len(self._known) >= self.max_keys:
                self._known.clear()
            self._known[key] = (revision, left, now)
            return take, 0.0
        # Still contended after every attempt: the key is this busy across replicas.
        return 0, 1.0 / self.rate

    async def _read(self, kv: KeyValue, key: str) -> tuple[int, float, float]:
        """(revision, tokens, when): a key not there (or not readable) is a full bucket."""
        try:
            entry = await kv.get(key)
        except KeyNotFoundError:
            return 0, float(self.burst), self._clock()
        stored = _decode(entry.value)
        if stored is None:
            return entry.revision or 0, float(self.burst), self._clock()
        return entry.revision or 0, stored[0], stored[1]
