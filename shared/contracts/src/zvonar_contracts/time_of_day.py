"""`HH:MM`, the time of day of a calling window (`CallingWindow.from_` / `.to`): one parser and
one error message for every service.

`00:00`..`23:59`; the end of a window may also be `24:00` (the end of the day) where the
caller allows it (`end=True`).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

TIME_OF_DAY_MESSAGE = "a time of day as HH:MM"
END_OF_DAY = "24:00"


class TimeOfDayError(ValueError):
    """Text that is not a time of day as HH:MM; str() is the message for the field."""

    def __init__(self, text: str) -> None:
        super().__init__(TIME_OF_DAY_MESSAGE)
        self.text = text


@lru_cache(maxsize=512)
def parse_time_of_day(text: str, *, end: bool = False) -> dt.time:
    """The time of `text` ("HH:MM"); `24:00` with `end=True` is `time.max`."""
    if end and text == END_OF_DAY:
        return dt.time.max
    hours, sep, minutes = text.partition(":")
    if not (
        sep
        and len(hours) == len(minutes) == 2
        and hours.isascii()
        and hours.isdigit()
        and minutes.isascii()
        and minutes.isdigit()
    ):
        raise TimeOfDayError(text)
    hour, minute = int(hours), int(minutes)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise TimeOfDayError(text)
    return dt.time(hour, minute)


def is_time_of_day(text: str, *, end: bool = False) -> bool:
    try:
        parse_time_of_day(text, end=end)
    except TimeOfDayError:
        return False
    return True
