"""Rendering of read-side views into the answers of docs/API.md (the structs of
http/schemas.py): times in the account's timezone (RFC 3339 with offset), money as strings
with two decimals."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, overload
from zoneinfo import ZoneInfo

import msgspec

from zvonar_contracts.options import CampaignOptions, Size
from zvonar_contracts.queries import CampaignDetail, CampaignView, HistoryEntry
from zvonar_gateway.http.schemas import (
    CampaignDetailOut,
    CampaignOut,
    CommentOut,
    CreatedCampaignOut,
    ModeratedCampaignOut,
    RejectedOut,
    SizeOut,
    StartOut,
)
from zvonar_gateway.service_layer.campaigns import Created

_CENT = Decimal("0.01")


@overload
def render_time(value: dt.datetime, tz: str) -> str: ...


@overload
def render_time(value: dt.datetime | None, tz: str) -> str | None: ...


def render_time(value: dt.datetime | None, tz: str) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        # The read side promises aware UTC; a naive value is read as UTC, not local time.
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(ZoneInfo(tz)).isoformat()


def render_money(value: Decimal | float | int) -> str:
    return str(Decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP))


def render_size(size: Size) -> SizeOut:
    return SizeOut(
        total=size.total,
        stop_listed=size.stop_listed,
        answered=size.answered,
        leads=size.leads,
        not_answered=size.not_answered,
        in_progress=size.in_progress,
    )


def _campaign_fields(view: CampaignView, tz: str) -> dict[str, Any]:
    return {
        "id": view.id,
        "created_at": render_time(view.created_at, tz),
        "name": view.name,
        "tags": list(view.tags),
        "smart_part": view.smart_part,
        "parent_id": view.parent_id,
        "status": view.status,
        "start": StartOut(kind=view.start.kind, at=render_time(view.start.at, tz)),
        "size": render_size(view.size),
        "smart_size": None if view.smart_size is None else render_size(view.smart_size),
        "speed": view.speed,
        "cost": render_money(view.cost),
        "comment": CommentOut(user=view.comment.user, system=view.comment.system),
        "caller_number": view.caller_number,
    }


def render_campaign(view: CampaignView, tz: str) -> CampaignOut:
    """The campaign object of docs/API.md, as list rows and detail show it."""
    return CampaignOut(**_campaign_fields(view, tz))


def render_moderated(view: CampaignView, tz: str) -> ModeratedCampaignOut:
    """A campaign as a moderator sees it: with the account it belongs to."""
    return ModeratedCampaignOut(**_campaign_fields(view, tz), account_id=view.account_id)


def render_created(created: Created, tz: str) -> CreatedCampaignOut:
    """A new campaign, with the numbers of its base that were refused."""
    return CreatedCampaignOut(
        **_campaign_fields(created.campaign, tz),
        rejected_phones=[RejectedOut(r.line, r.value, r.reason) for r in created.rejected],
        rejected_total=created.rejected_total,
    )


def render_options(options: CampaignOptions, tz: str) -> dict[str, Any]:
    """The body the campaign was created with; of the webhook only the URL and whether it is
    signed with a secret (the secret is write-only, its reference internal)."""
    rendered: dict[str, Any] = msgspec.to_builtins(options)
    rendered["start_at"] = render_time(options.start_at, tz)
    if options.integration is not None:
        rendered["integration"] = {
            "webhook_url": options.integration.webhook_url,
            "has_secret": options.integration.secret_ref is not None,
        }
    return rendered


def render_detail(reply: CampaignDetail, tz: str) -> CampaignDetailOut:
    return CampaignDetailOut(
        **_campaign_fields(reply.campaign, tz),
        options=render_options(reply.options, tz),
        history=[render_history_entry(entry, tz) for entry in reply.history],
    )


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
