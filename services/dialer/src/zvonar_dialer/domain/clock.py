"""The dialer's clock: origin + (wall − origin) × scale.

The origin is the moment the dialer's store was first created; it is kept in the store, so a
restart does not move time back and every instance reads the same time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

UTC = dt.UTC


def wall_now() -> dt.datetime:
    return dt.datetime.now(UTC)


class DialerClock:
    def __init__(
        self, origin: dt.datetime, scale: float, wall: Callable[[], dt.datetime] = wall_now
    ) -> None:
        if scale <= 0:
            raise ValueError(f"time scale must be positive, got {scale}")
        if origin.tzinfo is None:
            raise ValueError("clock origin must be timezone-aware")
        self.origin = origin
        self.scale = scale
        self._wall = wall

    def now(self) -> dt.datetime:
        elapsed = (self._wall() - self.origin).total_seconds()
        return self.origin + dt.timedelta(seconds=elapsed * self.scale)
