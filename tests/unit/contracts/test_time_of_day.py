"""The one HH:MM parser of the contracts: what it takes, what it refuses, and its message."""

from __future__ import annotations

import datetime as dt

import pytest

from zvonar_contracts.time_of_day import (
    TIME_OF_DAY_MESSAGE,
    TimeOfDayError,
    is_time_of_day,
    parse_time_of_day,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("00:00", dt.time(0, 0)), ("09:05", dt.time(9, 5)), ("23:59", dt.time(23, 59))],
)
def test_a_time_of_day_is_read(text: str, expected: dt.time) -> None:
    assert parse_time_of_day(text) == expected


@pytest.mark.parametrize(
    "text", ["", "9:05", "09:5", "0905", "24:00", "23:60", "ab:cd", "+1:00", "09:05 ", "٠٩:٠٥"]
)
def test_anything_else_is_refused_with_the_one_message(text: str) -> None:
    with pytest.raises(TimeOfDayError) as refused:
        parse_time_of_day(text)
    assert str(refused.value) == TIME_OF_DAY_MESSAGE == "a time of day as HH:MM"
    assert refused.value.text == text
    assert not is_time_of_day(text)


def test_the_end_of_the_day_only_where_the_caller_allows_it() -> None:
    assert parse_time_of_day("24:00", end=True) == dt.time.max
    assert is_time_of_day("24:00", end=True) and not is_time_of_day("24:00")
    with pytest.raises(TimeOfDayError):
        parse_time_of_day("24:01", end=True)
