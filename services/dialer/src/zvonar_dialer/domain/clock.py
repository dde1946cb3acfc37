"""The dialer's clock: origin + (wall − origin) × scale (zvonar_contracts.clock, the rule
every service computes the same way from the published origin).

The origin is the moment the dialer's store was first created; it is kept in the store, so a
restart does not move time back and every instance reads the same time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from zvonar_contracts.clock import ClockOrigin

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
        # What the dialer writes to the clock's key-value entry for the other services.
        self.published = ClockOrigin(wall=origin, dialer=origin, scale=scale)

    def now(self) -> dt.datetime:
        return self.published.at(self._wall())
