"""Answering stats queries: validate, wait for the asked campaign-log position (up to
5 s, then answer anyway), read in one transaction. Each handler is a short function in
QUERY_HANDLERS; bad input is a QueryError(validation) and unknown rows QueryError(not_found).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from zvonar_contracts import queries as q
from zvonar_contracts.codec import encode
from zvonar_contracts.options import Status
from zvonar_stats.domain import rules
from zvonar_stats.domain.listing import ListFilter
from zvonar_stats.service_layer.ports import ReadModel
from zvonar_stats.service_layer.projection import Projector

MAX_PER_PAGE = 10_000
# A report page is at most MAX_REPORT_PAGE rows (the API's pages are 200); a chunk of report
# rows at most MAX_REPORT_ROWS and REPORT_REPLY_BUDGET bytes: a reply must stay well under
# NATS's 1 MiB (a bigger one closes the connection), whatever the rows hold.
MAX_REPORT_PAGE = 1000
MAX_REPORT_ROWS = 5000
REPORT_REPLY_BUDGET = 512 * 1024
# Longer than a standby relay takes to take over from one that died (its lease's 3 s and a
# moment): a read right after a write waits through that, instead of missing the write.
MIN_POSITION_WAIT_S = 5.0


class InvalidQuery(ValueError):
    pass


class QueryService:
    def __init__(self, reads: ReadModel, projector: Projector) -> None:
        self.reads = reads
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
            return await handler(self.reads, query, position)
        except InvalidQuery as exc:
            return q.QueryError(code="validation", message=str(exc))


def _check_paging(query: q.StatsQuery) -> None:
    if isinstance(query, q.GetReportRows):
        if not 1 <= query.limit <= MAX_REPORT_ROWS:
            raise InvalidQuery(f"limit must be 1..{MAX_REPORT_ROWS}")
        return
    page = getattr(query, "page", 1)
    per_page = getattr(query, "per_page", 1)
    highest = MAX_REPORT_PAGE if isinstance(query, q.GetReport) else MAX_PER_PAGE
    if page < 1:
        raise InvalidQuery("page starts at 1")
    if not 1 <= per_page <= highest:
        raise InvalidQuery(f"per_page must be 1..{highest}")


def _utc(moment: dt.datetime | None, name: str) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise InvalidQuery(f"{name} needs a time zone")
    return rules.utc_text(moment)


async def _list(reads: ReadModel, query: Any, position: int) -> q.QueryReply:
    where = ListFilter(
        account_id=query.account_id,
        q=(query.q or "").strip() or None,
        statuses=query.statuses,
        tags=query.tags,
        created_from=_utc(query.created_from, "created_from"),
        created_to=_utc(query.created_to, "created_to"),
        ids=query.ids,
    )
    offset = (query.page - 1) * query.per_page
    items, total = await reads.list_campaigns(where, offset=offset, limit=query.per_page)
    return q.CampaignPage(
        items=items, total=total, page=query.page, per_page=query.per_page, position=position
    )


async def _detail(reads: ReadModel, query: Any, position: int) -> q.QueryReply:
    found = await reads.get_campaign(query.campaign_id, query.account_id)
    if found is None:
        return _not_found(query.campaign_id)
    view, options, history = found
    return q.CampaignDetail(campaign=view, options=options, history=history, position=position)


async def _report(reads: ReadModel, query: Any, position: int) -> q.QueryReply:
    offset = (query.page - 1) * query.per_page
    found = await reads.report(
        query.campaign_id, query.account_id, offset=offset, limit=query.per_page
    )
    if found is None:
        return _not_found(query.campaign_id)
    view, calls, total = found
    return q.ReportPage(
        campaign=view,
        calls=calls,
        total=total,
        page=query.page,
        per_page=query.per_page,
        position=position,
    )


async def _report_rows(reads: ReadModel, query: Any, position: int) -> q.QueryReply:
    found = await reads.report_rows(
        query.campaign_id, query.account_id, after=query.after, limit=query.limit
    )
    if found is None:
        return _not_found(query.campaign_id)
    view, rows = found
    calls = _within_budget(view, [call for _key, call in rows])
    # Every row read was sent: the next chunk reads on only if this one was full.
    if len(calls) == len(rows):
        last = rows[-1][0] if len(rows) == query.limit else None
    else:
        last = rows[len(calls) - 1][0]
    return q.ReportRows(campaign=view, calls=calls, next=last, position=position)


def _within_budget(view: q.CampaignView, calls: list[q.CallRow]) -> list[q.CallRow]:
    """The leading rows whose reply fits REPORT_REPLY_BUDGET (at least one: a row came in
    one NATS message, so it fits in one)."""
    used = len(encode(view)) + 200  # the envelope: tags, position, the next key
    for count, call in enumerate(calls):
        used += len(encode(call)) + 1
        if used > REPORT_REPLY_BUDGET and count > 0:
            return calls[:count]
    return calls


async def _moderation_queue(reads: ReadModel, query: Any, position: int) -> q.QueryReply:
    where = ListFilter(account_id=None, statuses=[Status.CLARIFICATION])
    offset = (query.page - 1) * query.per_page
    items, total = await reads.list_campaigns(
        where, offset=offset, limit=query.per_page, oldest_first=True
    )
    return q.CampaignPage(
        items=items, total=total, page=query.page, per_page=query.per_page, position=position
    )


async def _stop_list(reads: ReadModel, query: Any, position: int) -> q.QueryReply:
    offset = (query.page - 1) * query.per_page
    phones, total = await reads.stop_list(query.account_id, offset=offset, limit=query.per_page)
    return q.StopListPage(
        phones=phones, total=total, page=query.page, per_page=query.per_page, position=position
    )


def _not_found(campaign_id: int) -> q.QueryError:
    return q.QueryError(code="not_found", message=f"campaign {campaign_id} not found")


Handler = Callable[[ReadModel, Any, int], Awaitable[q.QueryReply]]
QUERY_HANDLERS: dict[type, Handler] = {
    q.ListCampaigns: _list,
    q.GetCampaign: _detail,
    q.GetReport: _report,
    q.GetReportRows: _report_rows,
    q.GetModerationQueue: _moderation_queue,
    q.GetStopList: _stop_list,
}
