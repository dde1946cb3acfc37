"""Rendering of read-side views into the JSON objects of docs/API.md: times in the
account's timezone (RFC 3339 with offset), money as strings with two decimals."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from zvonar_contracts.options import Size
from zvonar_contracts.queries import CampaignView, HistoryEntry

_CENT = Decimal("0.01")


def render_time(value: dt.datetime | None, tz: str) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        # The read side promises aware UTC; a naive value is read as UTC, not local time.
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(ZoneInfo(tz)).isoformat()


def render_money(value: Decimal | float | int) -> str:
    return str(Decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP))


def render_size(size: Size | None) -> dict[str, int] | None:
    if size is None:
        return None
    return {
        "total": size.total,
        "stop_listed": size.stop_listed,
        "answered": size.answered,
        "leads": size.leads,
        "not_answered": size.not_answered,
        "in_progress": size.in_progress,
    }


def render_campaign(view: CampaignView, tz: str) -> dict[str, Any]:
    """The campaign object of docs/API.md, as list rows and detail show it."""
    start: dict[str, Any] = {"kind": view.start.kind}
    if view.start.at is not None:
        start["at"] = render_time(view.start.at, tz)
    return {
        "id": view.id,
        "created_at": render_time(view.created_at, tz),
        "name": view.name,
        "tags": [str(tag) for tag in view.tags],
        "smart_part": view.smart_part,
        "parent_id": view.parent_id,
        "status": str(view.status),
        "start": start,
        "size": render_size(view.size),
        "smart_size": render_size(view.smart_size),
        "speed": view.speed,
        "cost": render_money(view.cost),
        "comment": {"user": view.comment.user, "system": view.comment.system},
        "caller_number": view.caller_number,
    }


def _render_value(value: Any, tz: str) -> Any:
    if isinstance(value, dt.datetime):
        return render_time(value, tz)
    if isinstance(value, Decimal):
        return render_money(value)
    if isinstance(value, dict):
        return {k: _render_value(v, tz) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_value(v, tz) for v in value]
    return value


def render_history_entry(entry: HistoryEntry, tz: str) -> dict[str, Any]:
    """`{"type", "at", ...details}`; detail values that look like times are re-zoned."""
    rendered: dict[str, Any] = {}
    for key, value in entry.details.items():
        if isinstance(value, str) and key.endswith("_at"):
            value = _parse_time(value)
        rendered[key] = _render_value(value, tz)
    rendered["type"] = entry.type
    rendered["at"] = render_time(entry.at, tz)
    return rendered


def _parse_time(text: str) -> dt.datetime | str:
    try:
        return msgspec.convert(text, dt.datetime)
    except msgspec.ValidationError:
        return text
