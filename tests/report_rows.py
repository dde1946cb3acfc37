"""Stats doubles' answer to GetReportRows from an in-memory list of rows: a row's key is its
place in the list, chunks are `query.limit` rows long, as the real service's are at most."""

from __future__ import annotations

from zvonar_contracts.queries import CallRow, CampaignView, GetReportRows, ReportKey, ReportRows


def rows_reply(view: CampaignView, calls: list[CallRow], query: GetReportRows) -> ReportRows:
    start = 0 if query.after is None else query.after.seq + 1
    chosen = calls[start : start + query.limit]
    full = len(chosen) == query.limit
    last = ReportKey(part=0, seq=start + len(chosen) - 1) if full else None
    return ReportRows(campaign=view, calls=chosen, next=last)
