"""List filters: `created_from`/`created_to` as a date or a date-time in the account's
timezone, inclusive (a bare date as `created_to` means the end of that day)."""

from __future__ import annotations

import datetime as dt


class FilterError(ValueError):
    pass


def parse_bound(value: str | None, tz: dt.tzinfo, *, end_of_day: bool) -> dt.datetime | None:
    """The bound as an aware UTC datetime; naive values are read in `tz`."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if len(text) == 10:
        try:
            day = dt.date.fromisoformat(text)
        except ValueError as exc:
            raise FilterError("a date (YYYY-MM-DD) or a date-time (RFC 3339)") from exc
        moment = dt.datetime.combine(day, dt.time.max if end_of_day else dt.time.min)
        return _in_utc(moment.replace(tzinfo=tz))
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError as exc:
        raise FilterError("a date (YYYY-MM-DD) or a date-time (RFC 3339)") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return _in_utc(moment)


def _in_utc(moment: dt.datetime) -> dt.datetime:
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError as exc:  # 0001-01-01 east of UTC, 9999-12-31 west of it
        raise FilterError("a date between 0001-01-02 and 9999-12-30") from exc
