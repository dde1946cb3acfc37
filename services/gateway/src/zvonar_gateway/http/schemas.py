"""Response shapes of the API: the campaign object of docs/API.md and the pages that carry
it. Handlers answer with these structs (built by http/render.py); OpenAPI documents them
(and schemathesis holds the answers to them)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.openapi import ResponseSpec

from zvonar_contracts.dialer import DeliveryState
from zvonar_contracts.options import Status, Tag
from zvonar_contracts.queries import StartKind


class StartOut(msgspec.Struct, omit_defaults=True):
    kind: StartKind
    at: str | None = None  # RFC 3339 in the account's timezone; absent when not started


class SizeOut(msgspec.Struct):
    total: int
    stop_listed: int
    answered: int
    leads: int
    not_answered: int
    in_progress: int


class CommentOut(msgspec.Struct):
    user: str
    system: str


class CampaignOut(msgspec.Struct, kw_only=True):
    id: int
    created_at: str
    name: str
    tags: list[Tag]
    smart_part: int | None
    parent_id: int | None
    status: Status
    start: StartOut
    size: SizeOut
    smart_size: SizeOut | None
    speed: int
    cost: str
    comment: CommentOut
    caller_number: str | None


class RejectedOut(msgspec.Struct):
    line: int
    value: str
    reason: str


class CreatedCampaignOut(CampaignOut, kw_only=True):
    rejected_phones: list[RejectedOut]
    rejected_total: int


class CampaignDetailOut(CampaignOut, kw_only=True):
    options: dict[str, Any]
    history: list[dict[str, Any]]


class ModeratedCampaignOut(CampaignOut, kw_only=True):
    account_id: str  # whose campaign: a moderator sees every account's


class ModerationQueueOut(msgspec.Struct):
    items: list[ModeratedCampaignOut]
    total: int
    page: int
    per_page: int


class CampaignPageOut(msgspec.Struct):
    items: list[CampaignOut]
    total: int
    page: int
    per_page: int


class StopListPageOut(msgspec.Struct, kw_only=True):
    items: list[dict[str, str]]
    phones: list[str]
    total: int
    page: int
    per_page: int


class StopListAddedOut(StopListPageOut, kw_only=True):
    added: list[str]  # the numbers added, in E.164
    rejected_phones: list[RejectedOut]


class StopListRemovedOut(StopListPageOut, kw_only=True):
    removed: list[str]


class WebhookDeliveryOut(msgspec.Struct, kw_only=True):
    id: str  # the `webhook-id` header, the same on every attempt
    event: str
    call_id: str | None
    state: DeliveryState
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: str
    next_attempt_at: str | None
    delivered_at: str | None


class WebhookDeliveryPageOut(msgspec.Struct):
    items: list[WebhookDeliveryOut]
    total: int
    page: int
    per_page: int


def documented(status: int, container: Any, description: str) -> dict[int, ResponseSpec]:
    """`responses=` for a handler answering `container`: the answer's own description."""
    spec = ResponseSpec(data_container=container, generate_examples=False, description=description)
    return {status: spec}
