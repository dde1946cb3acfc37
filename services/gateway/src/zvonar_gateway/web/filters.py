"""The list's search and filters, read from the query string (pure): what the customer
typed, kept to re-fill the form and the polling fragment, and the stats query it means."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import msgspec

from zvonar_contracts.options import Status, Tag
from zvonar_contracts.queries import ListCampaigns
from zvonar_gateway.domain.filters import FilterError, parse_bound

PER_PAGE = 50
_MAX_PAGE = 1_000_000


class ListFilters(msgspec.Struct, kw_only=True):
    q: str = ""
    tags: list[str] = []
    status: str = ""
    date_from: str = ""
    time_from: str = ""
    date_to: str = ""
    time_to: str = ""
    page: int = 1

    def query_string(self, **override: object) -> str:
        pairs: list[tuple[str, object]] = [("q", self.q)]
        pairs += [("tag", tag) for tag in self.tags]
        pairs += [
            ("status", self.status),
            ("date_from", self.date_from),
            ("time_from", self.time_from),
            ("date_to", self.date_to),
            ("time_to", self.time_to),
            ("page", override.get("page", self.page)),
        ]
        return urlencode([(k, v) for k, v in pairs if v not in ("", None)])


def _page(value: str | None) -> int:
    try:
        return min(max(int(value or 1), 1), _MAX_PAGE)
    except ValueError:
        return 1


def read_filters(
    get: Callable[[str], str | None], getall: Callable[[str], list[str]]
) -> ListFilters:
    """Unknown tags and statuses are dropped, not errors: a stale bookmark still opens."""
    tags = [tag for tag in getall("tag") if tag in Tag.__members__.values()]
    status = get("status") or ""
    return ListFilters(
        q=(get("q") or "").strip()[:200],
        tags=list(dict.fromkeys(tags)),
        status=status if status in Status.__members__.values() else "",
        date_from=dotted((get("date_from") or "").strip()),
        time_from=(get("time_from") or "").strip(),
        date_to=dotted((get("date_to") or "").strip()),
        time_to=(get("time_to") or "").strip(),
        page=_page(get("page")),
    )


_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")


def dotted(date: str) -> str:
    """A date as the page shows it, DD.MM.YYYY (an ISO date of an old bookmark turned so)."""
    try:
        return dt.date.fromisoformat(date).strftime("%d.%m.%Y") if len(date) == 10 else date
    except ValueError:
        return date


def _iso(date: str) -> str:
    """DD.MM.YYYY (the page's way, whatever the browser's locale) as YYYY-MM-DD."""
    found = _DOTTED.fullmatch(date)
    return f"{found[3]}-{int(found[2]):02d}-{int(found[1]):02d}" if found else date


def _bound(date: str, time: str, tz: str, *, end: bool) -> dt.datetime | None:
    if not date:
        return None
    date = _iso(date)
    time = f"0{time}" if re.fullmatch(r"\d:\d\d", time) else time
    text = f"{date}T{time}" if time else date
    moment = parse_bound(text, ZoneInfo(tz), end_of_day=end)
    if end and time and moment is not None:
        # "До 12:30" takes the whole minute 12:30 in, as the customer reads it.
        moment += dt.timedelta(seconds=59, microseconds=999_999)
    return moment


def to_query(filters: ListFilters, account_id: str, tz: str) -> tuple[ListCampaigns, str | None]:
    """The stats query, and an error text when a date bound cannot be read (then unbounded)."""
    error = None
    try:
        created_from = _bound(filters.date_from, filters.time_from, tz, end=False)
        created_to = _bound(filters.date_to, filters.time_to, tz, end=True)
    except FilterError as exc:
        created_from = created_to = None
        error = str(exc)
    query = ListCampaigns(
        account_id=account_id,
        q=filters.q or None,
        statuses=[Status(filters.status)] if filters.status else [],
        tags=[Tag(tag) for tag in filters.tags],
        created_from=created_from,
        created_to=created_to,
        page=filters.page,
        per_page=PER_PAGE,
    )
    return query, error
