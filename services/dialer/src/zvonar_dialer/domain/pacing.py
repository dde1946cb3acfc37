"""Pacing: calls per hour of dialer time, evenly spread.

A campaign keeps the dialer time of its next call slot; a scheduler pass takes every slot
that is due (a burst when the clock runs fast) and moves the slot on by one interval each.
"""

from __future__ import annotations

import datetime as dt

MIN_SPEED = 1
MAX_SPEED = 100_000


def interval(speed: int) -> dt.timedelta:
    """Dialer time between two calls of a campaign at `speed` calls per hour."""
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise ValueError(f"speed must be within {MIN_SPEED}..{MAX_SPEED}, got {speed}")
    return dt.timedelta(seconds=3600 / speed)


def due_slots(
    next_call_at: dt.datetime,
    now: dt.datetime,
    speed: int,
    limit: int,
    horizon: dt.timedelta | None = None,
) -> list[dt.datetime]:
    """The call slots due by `now`, oldest first, at most `limit`.

    Slots older than `horizon` before now are not caught up (nor more than one burst): after a
    stall or a restart the campaign goes on at its speed instead of firing all it missed.
    """
    step = interval(speed)
    earliest = now - step * (limit - 1)
    if horizon is not None:
        earliest = max(earliest, now - horizon)
    slot = max(next_call_at, earliest)
    slots: list[dt.datetime] = []
    while slot <= now and len(slots) < limit:
        slots.append(slot)
        slot += step
    return slots


def after(slots: list[dt.datetime], used: int, speed: int, fallback: dt.datetime) -> dt.datetime:
    """The next slot once `used` of `slots` were taken (the first unused one)."""
    if used == 0:
        return fallback
    return slots[used - 1] + interval(speed)
