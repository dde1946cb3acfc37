"""Queries to the stats service (request-reply on `stats.query.<Type>`) and their replies.

Every query may carry `min_position`: the campaign-log position a command's reply gave. The
stats service waits (up to 2 s) until it has applied that position before it answers, which
is how the gateway gives an account read-your-writes. Times in replies are UTC; the gateway
renders them in the account's timezone.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

import msgspec

from zvonar_contracts.call_events import Outcome
from zvonar_contracts.options import CampaignOptions, Size, Status, Tag

StartKind = Literal["not_started", "scheduled", "started", "out_of_window"]


class QueryBase(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    min_position: int = 0


class Start(msgspec.Struct, frozen=True, kw_only=True):
    kind: StartKind
    at: dt.datetime | None = None


class Comment(msgspec.Struct, frozen=True, kw_only=True):
    user: str = ""
    system: str = ""


class CampaignView(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the list; the campaign object of docs/API.md."""

    id: int
    account_id: str
    created_at: dt.datetime
    name: str
    tags: list[Tag]
    smart_part: int | None
    parent_id: int | None
    status: Status
    start: Start
    size: Size
    smart_size: Size | None
    speed: int
    cost: Decimal
    comment: Comment
    caller_number: str | None


class HistoryEntry(msgspec.Struct, frozen=True, kw_only=True):
    type: str
    at: dt.datetime
    details: dict[str, Any] = {}


class CallRow(msgspec.Struct, frozen=True, kw_only=True):
    phone: str
    part: int
    attempt: int
    started_at: dt.datetime | None
    outcome: Outcome
    duration_s: float
    cost: Decimal
    answer_text: str
    lead: bool
    recording: str | None  # object name in the recordings bucket


# --- queries -------------------------------------------------------------------------------


class ListCampaigns(QueryBase, frozen=True, tag=True):
    account_id: str
    q: str | None = None
    statuses: list[Status] = []
    tags: list[Tag] = []
    created_from: dt.datetime | None = None  # inclusive, aware
    created_to: dt.datetime | None = None  # inclusive, aware
    ids: list[int] | None = None  # only these rows (exports)
    page: int = 1
    per_page: int = 50


class GetCampaign(QueryBase, frozen=True, tag=True):
    campaign_id: int
    account_id: str | None = None  # None: the moderator's view, any account


class GetReport(QueryBase, frozen=True, tag=True):
    """One page of a campaign's report (the HTTP report and the web page)."""

    campaign_id: int
    account_id: str
    page: int = 1
    per_page: int = 50


class ReportKey(msgspec.Struct, frozen=True, array_like=True):
    """A report row's place in the report's order: (part, seq)."""

    part: int
    seq: int


class GetReportRows(QueryBase, frozen=True, tag=True):
    """The report's rows in order, a chunk at a time (files, charts): those after `after`
    (None: from the first), at most `limit`, fewer when the reply would grow past a bound
    well under NATS's 1 MiB. A report of any size is read chunk after chunk."""

    campaign_id: int
    account_id: str
    after: ReportKey | None = None
    limit: int = 1000


class GetModerationQueue(QueryBase, frozen=True, tag=True):
    page: int = 1
    per_page: int = 50


class GetStopList(QueryBase, frozen=True, tag=True):
    account_id: str
    page: int = 1
    per_page: int = 50


StatsQuery = (
    ListCampaigns | GetCampaign | GetReport | GetReportRows | GetModerationQueue | GetStopList
)
STATS_QUERY_TYPES: tuple[type, ...] = StatsQuery.__args__


# --- replies -------------------------------------------------------------------------------


class CampaignPage(msgspec.Struct, frozen=True, kw_only=True, tag=True, tag_field="result"):
    items: list[CampaignView]
    total: int
    page: int
    per_page: int
    position: int = 0  # campaign-log position the read model had applied


class CampaignDetail(msgspec.Struct, frozen=True, kw_only=True, tag=True, tag_field="result"):
    campaign: CampaignView
    options: CampaignOptions
    history: list[HistoryEntry]
    position: int = 0


class ReportPage(msgspec.Struct, frozen=True, kw_only=True, tag=True, tag_field="result"):
    campaign: CampaignView
    calls: list[CallRow]
    total: int
    page: int
    per_page: int
    position: int = 0


class ReportRows(msgspec.Struct, frozen=True, kw_only=True, tag=True, tag_field="result"):
    campaign: CampaignView
    calls: list[CallRow]
    next: ReportKey | None  # where the next chunk starts; None: this is the last one
    position: int = 0


class StopListPage(msgspec.Struct, frozen=True, kw_only=True, tag=True, tag_field="result"):
    phones: list[str]
    total: int
    page: int
    per_page: int
    position: int = 0


class QueryError(msgspec.Struct, frozen=True, kw_only=True, tag=True, tag_field="result"):
    # too_large: the answer would exceed the broker's max payload (ask for a smaller page)
    code: Literal["not_found", "validation", "too_large"]
    message: str


QueryReply = CampaignPage | CampaignDetail | ReportPage | ReportRows | StopListPage | QueryError
