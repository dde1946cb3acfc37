"""Calling windows: hours and days in a zone, across midnight and DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from zvonar_contracts.options import CallingWindow
from zvonar_dialer.domain.windows import WindowError, is_open, next_open

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def window(days: list[str], start: str, end: str) -> CallingWindow:
    return CallingWindow(days=days, from_=start, to=end)  # type: ignore[arg-type]


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_open_inside_the_hours_of_an_allowed_day_in_the_zone() -> None:
    office = window(WEEKDAYS, "09:00", "21:00")
    # Wednesday 25 Nov 2026, 09:00 in Moscow is 06:00 UTC.
    assert is_open(office, "Europe/Moscow", utc(2026, 11, 25, 6, 0))
    assert not is_open(office, "Europe/Moscow", utc(2026, 11, 25, 5, 59))


def test_from_is_inclusive_and_to_is_exclusive() -> None:
    office = window(WEEKDAYS, "09:00", "21:00")
    assert is_open(office, "UTC", utc(2026, 11, 25, 9, 0))
    assert is_open(office, "UTC", utc(2026, 11, 25, 20, 59, 59))
    assert not is_open(office, "UTC", utc(2026, 11, 25, 21, 0))


def test_the_same_moment_is_judged_in_the_given_zone() -> None:
    office = window(WEEKDAYS, "09:00", "21:00")
    moment = utc(2026, 11, 25, 7, 0)  # 10:00 in Moscow, 17:00 in Vladivostok, 02:00 in NY
    assert is_open(office, "Europe/Moscow", moment)
    assert is_open(office, "Asia/Vladivostok", moment)
    assert not is_open(office, "America/New_York", moment)


def test_weekend_is_closed_and_next_open_is_monday_morning() -> None:
    office = window(WEEKDAYS, "09:00", "21:00")
    friday_evening = utc(2026, 11, 27, 19, 0)  # 22:00 in Moscow
    assert not is_open(office, "Europe/Moscow", friday_evening)
    assert next_open(office, "Europe/Moscow", friday_evening) == utc(2026, 11, 30, 6, 0)


def test_next_open_of_an_open_window_is_the_moment_itself_in_utc() -> None:
    office = window(WEEKDAYS, "09:00", "21:00")
    moment = datetime(2026, 11, 25, 12, 30, tzinfo=timezone(timedelta(hours=3)))
    found = next_open(office, "Europe/Moscow", moment)
    assert found == moment and found is not None and found.tzinfo is UTC


def test_next_open_later_the_same_day() -> None:
    office = window(WEEKDAYS, "09:00", "21:00")
    assert next_open(office, "UTC", utc(2026, 11, 25, 3, 15)) == utc(2026, 11, 25, 9, 0)


def test_a_window_crossing_midnight_belongs_to_the_day_it_starts() -> None:
    night = window(["fri"], "22:00", "02:00")
    assert is_open(night, "UTC", utc(2026, 11, 27, 22, 0))  # Friday 22:00
    assert is_open(night, "UTC", utc(2026, 11, 28, 1, 59))  # Saturday 01:59
    assert not is_open(night, "UTC", utc(2026, 11, 28, 2, 0))
    assert not is_open(night, "UTC", utc(2026, 11, 28, 22, 30))  # Saturday's evening
    assert not is_open(night, "UTC", utc(2026, 11, 27, 1, 0))  # Thursday's night
    assert next_open(night, "UTC", utc(2026, 11, 28, 3, 0)) == utc(2026, 12, 4, 22, 0)


def test_to_24_00_is_the_end_of_the_day() -> None:
    evening = window(["wed"], "18:00", "24:00")
    assert is_open(evening, "UTC", utc(2026, 11, 25, 23, 59, 59))
    assert not is_open(evening, "UTC", utc(2026, 11, 26, 0, 0))


def test_equal_from_and_to_is_a_whole_day_from_that_hour() -> None:
    round_the_clock = window(["wed"], "00:00", "00:00")
    assert is_open(round_the_clock, "UTC", utc(2026, 11, 25, 0, 0))
    assert is_open(round_the_clock, "UTC", utc(2026, 11, 25, 23, 59))
    assert not is_open(round_the_clock, "UTC", utc(2026, 11, 26, 0, 0))


def test_a_window_with_no_days_never_opens() -> None:
    assert next_open(window([], "09:00", "21:00"), "UTC", utc(2026, 11, 25, 12, 0)) is None


def test_berlin_hours_follow_summer_time() -> None:
    office = window(WEEKDAYS, "09:00", "17:00")
    # Friday 27 Mar 2026 (CET, +1) and Monday 30 Mar 2026 (CEST, +2).
    assert is_open(office, "Europe/Berlin", utc(2026, 3, 27, 8, 0))
    assert not is_open(office, "Europe/Berlin", utc(2026, 3, 30, 15, 30))
    assert next_open(office, "Europe/Berlin", utc(2026, 3, 27, 17, 0)) == utc(2026, 3, 30, 7, 0)


def test_a_start_inside_the_spring_forward_gap_opens_at_the_change() -> None:
    # Berlin, Sunday 29 Mar 2026: 02:00 CET jumps to 03:00 CEST at 01:00 UTC.
    small_hours = window(["sun"], "02:30", "04:00")
    assert next_open(small_hours, "Europe/Berlin", utc(2026, 3, 28, 12, 0)) == utc(2026, 3, 29, 1)
    assert is_open(small_hours, "Europe/Berlin", utc(2026, 3, 29, 1, 0))
    assert not is_open(small_hours, "Europe/Berlin", utc(2026, 3, 29, 0, 59, 59))


def test_a_window_wholly_inside_the_gap_is_skipped_that_day() -> None:
    lost_hour = window(["sun"], "02:10", "02:50")
    assert next_open(lost_hour, "Europe/Berlin", utc(2026, 3, 28, 12, 0)) == utc(2026, 4, 5, 0, 10)


def test_new_york_fall_back_repeats_the_hour_and_the_window_reopens() -> None:
    # New York, Sunday 1 Nov 2026: 02:00 EDT goes back to 01:00 EST at 06:00 UTC.
    early = window(["sun"], "00:30", "01:30")
    first_pass_end = utc(2026, 11, 1, 5, 30)  # 01:30 EDT
    assert not is_open(early, "America/New_York", first_pass_end)
    assert next_open(early, "America/New_York", first_pass_end) == utc(2026, 11, 1, 6, 0)
    assert is_open(early, "America/New_York", utc(2026, 11, 1, 6, 15))  # 01:15 EST
    assert not is_open(early, "America/New_York", utc(2026, 11, 1, 6, 30))  # 01:30 EST


def test_new_york_spring_forward_day_window_is_an_hour_shorter() -> None:
    # Sunday 8 Mar 2026: 02:00 EST jumps to 03:00 EDT at 07:00 UTC.
    night = window(["sat"], "22:00", "04:00")
    saturday_22 = utc(2026, 3, 8, 3, 0)  # 22:00 EST
    assert is_open(night, "America/New_York", saturday_22)
    assert is_open(night, "America/New_York", utc(2026, 3, 8, 7, 59))  # 03:59 EDT
    assert not is_open(night, "America/New_York", utc(2026, 3, 8, 8, 0))  # 04:00 EDT


def test_bad_window_hours_are_refused_clearly() -> None:
    with pytest.raises(WindowError, match="HH:MM"):
        is_open(window(WEEKDAYS, "9am", "21:00"), "UTC", utc(2026, 11, 25, 12))
    with pytest.raises(WindowError, match="HH:MM"):
        is_open(window(WEEKDAYS, "09:00", "25:00"), "UTC", utc(2026, 11, 25, 12))
    with pytest.raises(WindowError, match="HH:MM"):
        is_open(window(WEEKDAYS, "24:00", "21:00"), "UTC", utc(2026, 11, 25, 12))
    # The one parser of zvonar_contracts: ASCII digits only, as the gateway checks them.
    with pytest.raises(WindowError, match="HH:MM"):
        is_open(window(WEEKDAYS, "٠٩:٠٠", "21:00"), "UTC", utc(2026, 11, 25, 12))


def test_24_00_ends_the_day() -> None:
    late = window(WEEKDAYS, "18:00", "24:00")
    assert is_open(late, "UTC", utc(2026, 11, 25, 23, 59, 59))
    assert not is_open(late, "UTC", utc(2026, 11, 25, 17, 59))


def test_unknown_zone_and_naive_moment_are_refused() -> None:
    office = window(WEEKDAYS, "09:00", "21:00")
    with pytest.raises(WindowError, match="unknown time zone"):
        is_open(office, "Mars/Olympus", utc(2026, 11, 25, 12))
    with pytest.raises(WindowError, match="no time zone"):
        next_open(office, "UTC", datetime(2026, 11, 25, 12))
