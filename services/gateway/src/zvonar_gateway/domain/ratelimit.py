"""A token bucket per key (an API key's hash, a client address), kept in memory: `rate`
tokens a second, up to `burst`."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(
        self,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def _prune(self, now: float) -> None:
        """Forget keys whose bucket has refilled: they are as good as new. Keeps memory bounded
        when many different (say, wrong) keys are tried."""
        full_after = self.burst / self.rate
        idle = [k for k, b in self._buckets.items() if now - b.updated >= full_after]
        for key in idle:
            del self._buckets[key]

    def _refill(self, key: str) -> _Bucket:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None and len(self._buckets) >= self.max_keys:
            self._prune(now)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=float(self.burst), updated=now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        return bucket

    def peek(self, key: str) -> float:
        """Like `acquire` but takes no token: 0.0 if one is free, else the seconds until one is.
        For limits on failures: check before the attempt, `acquire` only when it failed."""
        bucket = self._refill(key)
        return 0.0 if bucket.tokens >= 1.0 else (1.0 - bucket.tokens) / self.rate

    def acquire(self, key: str) -> float:
        """Take a token for `key`; 0.0 if allowed, else the seconds until one is free."""
        bucket = self._refill(key)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    @staticmethod
    def retry_after_header(wait: float) -> str:
        return str(max(1, math.ceil(wait)))


class LocalRateLimits:
    """The `RateLimits` port on this process's own buckets (one replica, or tests)."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._limiter = RateLimiter(rate, burst)

    async def acquire(self, key: str) -> float:
        return self._limiter.acquire(key)
