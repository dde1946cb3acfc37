"""The dialer's clock, computed the same way by every service: origin + (wall − wall
origin) × scale. The dialer writes its ClockOrigin to the DIALER_CLOCK_BUCKET key-value
entry at start; the others read it (zvonar_runtime.dialer_clock) instead of asking.

Also the one rule of the start time that the campaign service and the dialer both apply."""

from __future__ import annotations

import datetime as dt

import msgspec


class ClockOrigin(msgspec.Struct, frozen=True, kw_only=True):
    wall: dt.datetime  # the wall time at which the dialer's time was `dialer`
    dialer: dt.datetime
    scale: float  # dialer seconds per wall second, > 0

    def __post_init__(self) -> None:
        if self.scale <= 0:
            raise ValueError(f"time scale must be positive, got {self.scale}")
        if self.wall.tzinfo is None or self.dialer.tzinfo is None:
            raise ValueError("clock origin must be timezone-aware")

    def at(self, wall: dt.datetime) -> dt.datetime:
        """The dialer's time when the wall clock reads `wall`."""
        elapsed = (wall - self.wall).total_seconds()
        return self.dialer + dt.timedelta(seconds=elapsed * self.scale)


def start_is_ahead(start_at: dt.datetime | None, now: dt.datetime) -> bool:
    """A campaign with a start time still ahead of the dialer's `now` waits `scheduled`."""
    return start_at is not None and now < start_at
