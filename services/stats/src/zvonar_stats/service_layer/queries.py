"""Answering stats queries: validate, wait for the asked campaign-log position (up to
2 s, then answer anyway), read in one transaction. Each handler is a short function in
QUERY_HANDLERS; bad input is a QueryError(validation) and unknown rows QueryError(not_found).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from zvonar_contracts import queries as q
from zvonar_contracts.options import Status
from zvonar_runtime.db import Database
from zvonar_stats.adapters import read_model
from zvonar_stats.domain import rules
from zvonar_stats.service_layer.projection import Projector

MAX_PER_PAGE = 10_000
MIN_POSITION_WAIT_S = 2.0


class InvalidQuery(ValueError):
    pass


class QueryService:
    def __init__(self, db: Database, projector: Projector) -> None:
        self.db = db
        self.projector = projector

    async def handle(self, query: q.StatsQuery) -> q.QueryReply:
        try:
            _check_paging(query)
        except InvalidQuery as exc:
            return q.QueryError(code="validation", message=str(exc))
        position = self.projector.position
        if query.min_position > position:
            position = await self.projector.wait_for(query.min_position, MIN_POSITION_WAIT_S)
        handler = QUERY_HANDLERS[type(query)]
        try:
            return await handler(self.db, query, position)
        except InvalidQuery as exc:
            return q.QueryError(code="validation", message=str(exc))


def _check_paging(query: q.StatsQuery) -> None:
    page = getattr(query, "page", 1)
    per_page = getattr(query, "per_page", 1)
    lowest = 0 if isinstance(query, q.GetReport) else 1
    if page < 1:
        raise InvalidQuery("page starts at 1")
    if not lowest <= per_page <= MAX_PER_PAGE:
        raise InvalidQuery(f"per_page must be {lowest}..{MAX_PER_PAGE}")


def _utc(moment: dt.datetime | None, name: str) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise InvalidQuery(f"{name} needs a time zone")
    return rules.utc_text(moment)


async def _list(db: Database, query: Any, position: int) -> q.QueryReply:
    where = read_model.ListFilter(
        account_id=query.account_id,
        q=(query.q or "").strip() or None,
        statuses=query.statuses,
        tags=query.tags,
        created_from=_utc(query.created_from, "created_from"),
        created_to=_utc(query.created_to, "created_to"),
        ids=query.ids,
    )
    offset = (query.page - 1) * query.per_page
    items, total = await db.run(
        lambda cur: read_model.list_campaigns(cur, where, offset=offset, limit=query.per_page)
    )
    return q.CampaignPage(
        items=items, total=total, page=query.page, per_page=query.per_page, position=position
    )


async def _detail(db: Database, query: Any, position: int) -> q.QueryReply:
    found = await db.run(
        lambda cur: read_model.get_campaign(cur, query.campaign_id, query.account_id)
    )
    if found is None:
        return _not_found(query.campaign_id)
    view, options, history = found
    return q.CampaignDetail(campaign=view, options=options, history=history, position=position)


async def _report(db: Database, query: Any, position: int) -> q.QueryReply:
    limit = query.per_page or None
    offset = (query.page - 1) * query.per_page
    found = await db.run(
        lambda cur: read_model.report(
            cur, query.campaign_id, query.account_id, offset=offset, limit=limit
        )
    )
    if found is None:
        return _not_found(query.campaign_id)
    view, calls, total = found
    return q.ReportPage(
        campaign=view, calls=calls, total=total, page=query.page, per_page=query.per_page,
        position=position,
    )  # fmt: skip


async def _moderation_queue(db: Database, query: Any, position: int) -> q.QueryReply:
    where = read_model.ListFilter(account_id=None, statuses=[Status.CLARIFICATION])
    offset = (query.page - 1) * query.per_page
    items, total = await db.run(
        lambda cur: read_model.list_campaigns(
            cur, where, offset=offset, limit=query.per_page, oldest_first=True
        )
    )
    return q.CampaignPage(
        items=items, total=total, page=query.page, per_page=query.per_page, position=position
    )


async def _stop_list(db: Database, query: Any, position: int) -> q.QueryReply:
    offset = (query.page - 1) * query.per_page
    phones, total = await db.run(
        lambda cur: read_model.stop_list(cur, query.account_id, offset=offset, limit=query.per_page)
    )
    return q.StopListPage(
        phones=phones, total=total, page=query.page, per_page=query.per_page, position=position
    )


def _not_found(campaign_id: int) -> q.QueryError:
    return q.QueryError(code="not_found", message=f"campaign {campaign_id} not found")


Handler = Callable[[Database, Any, int], Awaitable[q.QueryReply]]
QUERY_HANDLERS: dict[type, Handler] = {
    q.ListCampaigns: _list,
    q.GetCampaign: _detail,
    q.GetReport: _report,
    q.GetModerationQueue: _moderation_queue,
    q.GetStopList: _stop_list,
}
