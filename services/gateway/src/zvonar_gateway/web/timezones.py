"""The timezones the profile offers: every IANA zone, sorted, computed once."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones


@cache
def timezone_names() -> list[str]:
    return sorted(available_timezones() | {"UTC"})
