"""Pacing arithmetic and the dialer's clock."""

from __future__ import annotations

import datetime as dt

import pytest

from zvonar_dialer.domain import pacing
from zvonar_dialer.domain.clock import DialerClock

T0 = dt.datetime(2026, 6, 17, 10, 0, tzinfo=dt.UTC)


def test_interval_spreads_the_calls_of_an_hour_evenly() -> None:
    assert pacing.interval(800) == dt.timedelta(seconds=4.5)
    assert pacing.interval(1) == dt.timedelta(hours=1)
    assert pacing.interval(100_000) == dt.timedelta(seconds=0.036)


@pytest.mark.parametrize("speed", [0, -5, 100_001])
def test_a_speed_out_of_range_is_refused(speed: int) -> None:
    with pytest.raises(ValueError, match="speed"):
        pacing.interval(speed)


def test_due_slots_are_the_slots_up_to_now_one_interval_apart() -> None:
    slots = pacing.due_slots(T0, T0 + dt.timedelta(seconds=10), speed=3600, limit=100)

    assert slots == [T0 + dt.timedelta(seconds=s) for s in range(11)]


def test_nothing_is_due_before_the_next_slot() -> None:
    assert pacing.due_slots(T0, T0 - dt.timedelta(seconds=1), speed=3600, limit=100) == []


def test_a_burst_is_capped_and_a_long_stall_is_not_caught_up() -> None:
    after_a_stall = T0 + dt.timedelta(hours=5)

    slots = pacing.due_slots(T0, after_a_stall, speed=3600, limit=50)

    assert len(slots) == 50
    assert slots[-1] == after_a_stall
    assert slots[0] == after_a_stall - dt.timedelta(seconds=49)


def test_an_hour_at_speed_800_gives_800_calls_in_bursts() -> None:
    next_at, placed = T0, 0
    for minute in range(1, 61):
        now = T0 + dt.timedelta(minutes=minute) - dt.timedelta(microseconds=1)
        slots = pacing.due_slots(next_at, now, speed=800, limit=1000)
        placed += len(slots)
        next_at = pacing.after(slots, len(slots), 800, next_at)
    assert placed == 800


def test_the_next_slot_follows_the_last_one_used() -> None:
    slots = [T0, T0 + dt.timedelta(seconds=1), T0 + dt.timedelta(seconds=2)]

    assert pacing.after(slots, 2, 3600, T0) == T0 + dt.timedelta(seconds=2)
    assert pacing.after(slots, 0, 3600, T0) == T0


def test_the_clock_runs_scale_times_faster_from_its_origin() -> None:
    wall = [T0 + dt.timedelta(seconds=2)]
    clock = DialerClock(T0, 3600, lambda: wall[0])

    assert clock.now() == T0 + dt.timedelta(hours=2)


def test_a_restart_with_the_stored_origin_keeps_the_time() -> None:
    wall = T0 + dt.timedelta(seconds=10)
    before = DialerClock(T0, 60, lambda: wall).now()
    after_restart = DialerClock(T0, 60, lambda: wall).now()
    assert before == after_restart == T0 + dt.timedelta(minutes=10)


def test_a_clock_needs_a_positive_scale_and_an_aware_origin() -> None:
    with pytest.raises(ValueError, match="scale"):
        DialerClock(T0, 0)
    with pytest.raises(ValueError, match="aware"):
        DialerClock(T0.replace(tzinfo=None), 1)


def test_slots_older_than_the_horizon_are_dropped() -> None:
    now = T0 + dt.timedelta(minutes=10)

    slots = pacing.due_slots(T0, now, speed=3600, limit=1000, horizon=dt.timedelta(seconds=5))

    assert slots == [now - dt.timedelta(seconds=s) for s in (5, 4, 3, 2, 1, 0)]
