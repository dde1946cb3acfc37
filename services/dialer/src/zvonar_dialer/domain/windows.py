"""Calling windows: days of the week and hours in a time zone, and when one opens next.

A window is judged by the wall clock of its zone. `from` is inclusive, `to` exclusive;
`to` at or before `from` means the window crosses midnight and belongs to the day it
starts on (22:00–02:00 on Friday covers Friday 22:00 to Saturday 02:00). `to == "24:00"`
is the end of the day. Around DST changes the wall clock jumps: a window whose start
falls in a spring-forward gap opens at the change, and during a fall-back fold the
repeated hour is judged again (so a window may reopen when the clock is set back).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from zvonar_contracts.options import WEEKDAYS, CallingWindow
from zvonar_contracts.time_of_day import TIME_OF_DAY_MESSAGE, TimeOfDayError, parse_time_of_day

_HORIZON_DAYS = 8  # a weekly window opens within a week of any moment


class WindowError(ValueError):
    """A window or zone that cannot be understood."""


def _clock(text: str, *, end: bool) -> time:
    try:
        return parse_time_of_day(text, end=end)
    except TimeOfDayError as exc:
        raise WindowError(f"window time {text!r} is not {TIME_OF_DAY_MESSAGE}") from exc


@lru_cache(maxsize=256)
def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise WindowError(f"unknown time zone {tz!r}") from exc


def _weekdays(window: CallingWindow) -> frozenset[int]:
    return frozenset(WEEKDAYS.index(day) for day in window.days)


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise WindowError(f"moment {at.isoformat()} has no time zone")
    return at.astimezone(UTC)


def _open_at_wall(window: CallingWindow, wall: datetime) -> bool:
    start = _clock(window.from_, end=False)
    end = _clock(window.to, end=True)
    days = _weekdays(window)
    now = wall.time()
    if end > start:
        return wall.weekday() in days and start <= now < end
    # Crossing midnight: the evening of an allowed day, or the small hours after one.
    if wall.weekday() in days and now >= start:
        return True
    return (wall.weekday() - 1) % 7 in days and now < end


def is_open(window: CallingWindow, tz: str, at: datetime) -> bool:
    """Whether calls may be made at `at` (aware) under `window` read in zone `tz`."""
    return _open_at_wall(window, _utc(at).astimezone(_zone(tz)))


def next_open(window: CallingWindow, tz: str, at: datetime) -> datetime | None:
    """The first moment ≥ `at` when the window is open (aware UTC); None if it never opens."""
    zone = _zone(tz)
    moment = _utc(at)
    if not window.days:
        return None
    if _open_at_wall(window, moment.astimezone(zone)):
        return moment
    start = _clock(window.from_, end=False)
    days = _weekdays(window)
    today = moment.astimezone(zone).date()
    best: datetime | None = None
    for offset in range(-1, _HORIZON_DAYS + 1):
        day: date = today + timedelta(days=offset)
        if day.weekday() not in days:
            continue
        # A clock set back shows the opening time twice: the second one counts too (a
        # window closed by the change reopens when the wall clock reaches its start again).
        for opening in _instants_at_wall(datetime.combine(day, start), zone):
            if opening >= moment and _open_at_wall(window, opening.astimezone(zone)):
                best = opening
                break
        if best is not None:
            break
    # A clock set back can reopen a window before its next start.
    reopening = _first_open_transition(window, zone, moment, best)
    if reopening is not None:
        return reopening
    return best


def _instants_at_wall(wall: datetime, zone: ZoneInfo) -> list[datetime]:
    """The instants (aware UTC, in order) whose wall clock in `zone` reads `wall`: two when
    the clock is set back over it, else one; in a spring-forward gap, the change itself
    (the first instant whose wall clock is past `wall`)."""
    earlier = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    later = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    found = [c for c in sorted({earlier, later}) if c.astimezone(zone).replace(tzinfo=None) == wall]
    return found or [_transition_between(min(earlier, later), max(earlier, later), zone)]


def _transition_between(low: datetime, high: datetime, zone: ZoneInfo) -> datetime:
    """The first whole second in (low, high] with the zone's later offset (one change)."""
    before = low.astimezone(zone).utcoffset()
    first, last = math.floor(low.timestamp()), math.ceil(high.timestamp())
    while last - first > 1:
        middle = (first + last) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).utcoffset() == before:
            first = middle
        else:
            last = middle
    return datetime.fromtimestamp(last, UTC)


def _first_open_transition(
    window: CallingWindow, zone: ZoneInfo, moment: datetime, limit: datetime | None
) -> datetime | None:
    """The first offset change after `moment` (and before `limit`) at which the window is open."""
    end = limit or moment + timedelta(days=_HORIZON_DAYS)
    offset = moment.astimezone(zone).utcoffset()
    # Zones change offset at most twice a year (months apart): same offset, no change between.
    if end.astimezone(zone).utcoffset() == offset:
        return None
    probe = moment
    while probe < end:
        following = min(probe + timedelta(hours=1), end)
        if following.astimezone(zone).utcoffset() != offset:
            change = _transition_between(probe, following, zone)
            if _open_at_wall(window, change.astimezone(zone)):
                return change
            offset = following.astimezone(zone).utcoffset()
        probe = following
    return None


__all__ = ["WindowError", "is_open", "next_open"]
