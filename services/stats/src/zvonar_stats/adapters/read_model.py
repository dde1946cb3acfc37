"""Reading the read models: campaign rows as CampaignView, history, report rows,
the moderation queue and stop-lists. Every function runs inside one transaction and reads
the active generation first, so a rebuild's swap never shows half of two generations.

Search (`q`): ASCII digits that fit an id match the campaign with that exact id OR any
name containing those digits (a name like "Акция 2026" is found by "2026"); anything else
("²", thirty nines) is a case-insensitive part of the name, matched on the casefold()ed
copy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from zvonar_contracts.codec import decode
from zvonar_contracts.options import CampaignOptions, Size, Status, Tag
from zvonar_contracts.queries import CallRow, CampaignView, Comment, HistoryEntry, ReportKey
from zvonar_runtime.db import Cursor
from zvonar_stats.adapters.checkpoints import read_checkpoint
from zvonar_stats.adapters.schema import CAMPAIGN_STREAM_KEY, Tables, active_tables
from zvonar_stats.domain import rules
from zvonar_stats.domain.listing import ListFilter

__all__ = ["ListFilter", "where_sql"]

_VIEW_COLUMNS = (
    "c.id, c.account_id, c.created_at, c.name, c.tags, c.smart_part, c.parent_id, c.status, "
    "c.scheduled_at, c.started_at, c.total, c.speed, c.comment_user, c.comment_system, "
    "c.caller_number, c.has_smart, k.stop_listed, k.answered, k.leads, k.not_answered, "
    "k.cost_micros"
)


# Campaign ids are BIGINT: a longer run of digits names no campaign (and overflows a bind).
_MAX_ID = 2**63 - 1


def campaign_id_in(q: str) -> int | None:
    """The id `q` names, if it is ASCII digits within the id column's range."""
    if not (q.isascii() and q.isdigit()) or len(q) > 19:
        return None
    value = int(q)
    return value if value <= _MAX_ID else None


def _from(t: Tables) -> str:
    return (
        f"FROM {t.campaigns} c LEFT JOIN {t.counts} k ON k.campaign_id = "
        "COALESCE(c.parent_id, c.id) AND k.part = COALESCE(c.smart_part, 0)"
    )


def where_sql(where: ListFilter) -> tuple[str, list[Any]]:
    """The WHERE clause of a list filter and its parameters."""
    return _Where(where).sql()


class _Where:
    def __init__(self, where: ListFilter) -> None:
        self.account_id = where.account_id
        self.q = where.q
        self.statuses = where.statuses
        self.tags = where.tags
        self.created_from = where.created_from
        self.created_to = where.created_to
        self.ids = where.ids

    def sql(self) -> tuple[str, list[Any]]:
        where: list[str] = ["c.deleted = 0"]
        params: list[Any] = []
        if self.account_id is not None:
            where.append("c.account_id = ?")
            params.append(self.account_id)
        if self.statuses:
            where.append(f"c.status IN ({', '.join('?' * len(self.statuses))})")
            params.extend(str(s) for s in self.statuses)
        for tag in self.tags:
            where.append("c.tags LIKE ?")
            params.append(f"%,{tag},%")
        if self.created_from is not None:
            where.append("c.created_at >= ?")
            params.append(self.created_from)
        if self.created_to is not None:
            where.append("c.created_at <= ?")
            params.append(self.created_to)
        if self.ids is not None:
            where.append(f"c.id IN ({', '.join('?' * len(self.ids))})" if self.ids else "1 = 0")
            params.extend(self.ids)
        if self.q:
            pattern = "%" + _escape_like(rules.fold(self.q)) + "%"
            campaign_id = campaign_id_in(self.q)
            if campaign_id is not None:
                where.append("(c.id = ? OR c.name_folded LIKE ? ESCAPE '\\')")
                params.extend([campaign_id, pattern])
            else:
                where.append("c.name_folded LIKE ? ESCAPE '\\'")
                params.append(pattern)
        return " AND ".join(where), params


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_campaigns(
    cur: Cursor, where: ListFilter, *, offset: int, limit: int, oldest_first: bool = False
) -> tuple[list[CampaignView], int]:
    t = active_tables(cur)
    clause, params = where_sql(where)
    order = "c.created_at ASC, c.id ASC" if oldest_first else "c.created_at DESC, c.id DESC"
    rows = cur.execute(
        f"SELECT {_VIEW_COLUMNS} {_from(t)} WHERE {clause} ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).fetchall()
    # A short page that is not empty ends the list: its total needs no counting.
    short = 0 < len(rows) < limit or (offset == 0 and not rows)
    total = offset + len(rows) if short else _total(cur, t, where, clause, params)
    return _views(cur, t, rows), total


def _total(cur: Cursor, t: Tables, where: ListFilter, clause: str, params: list[Any]) -> int:
    if where.counted_ahead():
        sql = f"SELECT COALESCE(SUM(rows), 0) FROM {t.account_counts} WHERE account_id = ?"
        extra: list[Any] = [where.account_id]
        if where.statuses:
            sql += f" AND status IN ({', '.join('?' * len(where.statuses))})"
            extra.extend(str(s) for s in where.statuses)
        for tag in where.tags:
            sql += " AND tags LIKE ?"
            extra.append(f"%,{tag},%")
        return int(cur.execute(sql, extra).fetchone()[0])
    return int(
        cur.execute(f"SELECT COUNT(*) FROM {t.campaigns} c WHERE {clause}", params).fetchone()[0]
    )


def get_campaign(
    cur: Cursor, campaign_id: int, account_id: str | None
) -> tuple[CampaignView, CampaignOptions, list[HistoryEntry]] | None:
    t = active_tables(cur)
    row = cur.execute(
        f"SELECT {_VIEW_COLUMNS}, c.options {_from(t)} WHERE c.id = ? AND c.deleted = 0",
        (campaign_id,),
    ).fetchone()
    if row is None or (account_id is not None and row[1] != account_id):
        return None
    view = _views(cur, t, [row[:-1]])[0]
    return view, decode(row[-1], CampaignOptions), _history(cur, t, campaign_id)


def _history(cur: Cursor, t: Tables, campaign_id: int) -> list[HistoryEntry]:
    rows = cur.execute(
        f"SELECT type, at, details FROM {t.history} WHERE campaign_id = ? ORDER BY seq",
        (campaign_id,),
    ).fetchall()
    return [
        HistoryEntry(type=kind, at=rules.from_utc_text(at), details=json.loads(details))  # type: ignore[arg-type]
        for kind, at, details in rows
    ]


_CALL_COLUMNS = (
    "phone, part, attempt, started_at, outcome, duration_s, cost, answer_text, lead, recording"
)


def _campaign_view(
    cur: Cursor, t: Tables, campaign_id: int, account_id: str
) -> CampaignView | None:
    """The account's campaign row alone (no options, no history): a report reads it per chunk."""
    row = cur.execute(
        f"SELECT {_VIEW_COLUMNS} {_from(t)} WHERE c.id = ? AND c.deleted = 0", (campaign_id,)
    ).fetchone()
    if row is None or row[1] != account_id:
        return None
    return _views(cur, t, [row])[0]


def _report_scope(view: CampaignView) -> tuple[str, list[Any]]:
    """A main campaign's report lists the calls of every part; a part's, its own."""
    if view.parent_id is not None:
        return "campaign_id = ? AND part = ?", [view.parent_id, view.smart_part]
    return "campaign_id = ?", [view.id]


def report(
    cur: Cursor, campaign_id: int, account_id: str, *, offset: int, limit: int
) -> tuple[CampaignView, list[CallRow], int] | None:
    """One page of the report and the number of its rows."""
    t = active_tables(cur)
    view = _campaign_view(cur, t, campaign_id, account_id)
    if view is None:
        return None
    clause, params = _report_scope(view)
    total = int(cur.execute(f"SELECT COUNT(*) FROM {t.calls} WHERE {clause}", params).fetchone()[0])
    rows = cur.execute(
        f"SELECT {_CALL_COLUMNS} FROM {t.calls} WHERE {clause} ORDER BY part, seq LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).fetchall()
    return view, [_call_row(row) for row in rows], total


def report_rows(
    cur: Cursor, campaign_id: int, account_id: str, *, after: ReportKey | None, limit: int
) -> tuple[CampaignView, list[tuple[ReportKey, CallRow]]] | None:
    """Up to `limit` report rows after `after`, each with its key: a keyset read on the
    (campaign_id, part, seq) index, as quick for the millionth row as for the first."""
    t = active_tables(cur)
    view = _campaign_view(cur, t, campaign_id, account_id)
    if view is None:
        return None
    clause, params = _report_scope(view)
    if after is not None:
        clause += " AND (part, seq) > (?, ?)"  # a row value: a range on the index
        params += [after.part, after.seq]
    rows = cur.execute(
        f"SELECT {_CALL_COLUMNS}, seq FROM {t.calls} WHERE {clause} ORDER BY part, seq LIMIT ?",
        [*params, limit],
    ).fetchall()
    return view, [(ReportKey(part=int(row[1]), seq=int(row[-1])), _call_row(row)) for row in rows]


def _call_row(row: Sequence[Any]) -> CallRow:
    phone, part, attempt, started, outcome, duration, cost, answer, lead, recording = row[:10]
    return CallRow(
        phone=phone,
        part=part,
        attempt=attempt,
        started_at=rules.from_utc_text(started),
        outcome=outcome,
        duration_s=float(duration),
        cost=Decimal(cost),
        answer_text=answer,
        lead=bool(lead),
        recording=recording,
    )


def stop_list(cur: Cursor, account_id: str, *, offset: int, limit: int) -> tuple[list[str], int]:
    t = active_tables(cur)
    total = int(
        cur.execute(
            f"SELECT COUNT(*) FROM {t.stop_list} WHERE account_id = ?", (account_id,)
        ).fetchone()[0]
    )
    rows = cur.execute(
        f"SELECT phone FROM {t.stop_list} WHERE account_id = ? ORDER BY phone LIMIT ? OFFSET ?",
        (account_id, limit, offset),
    ).fetchall()
    return [phone for (phone,) in rows], total


def campaigns_by_status(cur: Cursor) -> dict[str, int]:
    """Listed campaigns (not deleted) per status, over every account: a sum over the
    per-account counts, a few rows per account."""
    t = active_tables(cur)
    cur.execute(f"SELECT status, COALESCE(SUM(rows), 0) FROM {t.account_counts} GROUP BY status")
    return {str(status): int(count) for status, count in cur.fetchall()}


def applied_position(cur: Cursor) -> int:
    return read_checkpoint(cur, active_tables(cur), CAMPAIGN_STREAM_KEY).position


def all_figures(cur: Cursor) -> dict[int, tuple[Size, Decimal]]:
    """Every row's six counters and cost as the read model holds them (deleted ones too)."""
    t = active_tables(cur)
    rows = cur.execute(f"SELECT {_VIEW_COLUMNS} {_from(t)}").fetchall()
    return {row[0]: (_size(row), rules.cost_of(int(row[20] or 0))) for row in rows}


def _size(row: Sequence[Any]) -> Size:
    counters = rules.Counters(
        stop_listed=int(row[16] or 0),
        answered=int(row[17] or 0),
        leads=int(row[18] or 0),
        not_answered=int(row[19] or 0),
        cost_micros=int(row[20] or 0),
    )
    return rules.size_of(int(row[10]), counters)


def _views(cur: Cursor, t: Tables, rows: Sequence[Sequence[Any]]) -> list[CampaignView]:
    smart = _smart_sizes(cur, t, [row[0] for row in rows if row[15]])
    return [_view(row, smart.get(row[0], Size()) if row[15] else None) for row in rows]


def _smart_sizes(cur: Cursor, t: Tables, parent_ids: list[int]) -> dict[int, Size]:
    """The sum of the sizes of the parts started so far, per parent."""
    if not parent_ids:
        return {}
    rows = cur.execute(
        f"SELECT c.parent_id, SUM(c.total), SUM(COALESCE(k.stop_listed, 0)), "
        "SUM(COALESCE(k.answered, 0)), SUM(COALESCE(k.leads, 0)), "
        f"SUM(COALESCE(k.not_answered, 0)) {_from(t)} "
        f"WHERE c.parent_id IN ({', '.join('?' * len(parent_ids))}) GROUP BY c.parent_id",
        parent_ids,
    ).fetchall()
    sizes = {}
    for parent_id, total, stop_listed, answered, leads, not_answered in rows:
        counters = rules.Counters(
            stop_listed=int(stop_listed),
            answered=int(answered),
            leads=int(leads),
            not_answered=int(not_answered),
        )
        sizes[parent_id] = rules.size_of(int(total), counters)
    return sizes


def _view(row: Sequence[Any], smart_size: Size | None) -> CampaignView:
    status = Status(row[7])
    scheduled_at = rules.from_utc_text(row[8])
    started_at = rules.from_utc_text(row[9])
    return CampaignView(
        id=int(row[0]),
        account_id=row[1],
        created_at=rules.from_utc_text(row[2]),  # type: ignore[arg-type]
        name=row[3],
        tags=[Tag(tag) for tag in row[4].strip(",").split(",") if tag],
        smart_part=row[5],
        parent_id=None if row[6] is None else int(row[6]),
        status=status,
        # answered + not answered: calls that rang (stop-listed numbers were never dialled)
        start=rules.start_of(status, scheduled_at, started_at, bool(row[17] or row[19])),
        size=_size(row),
        smart_size=smart_size,
        speed=int(row[11]),
        cost=rules.cost_of(int(row[20] or 0)),
        comment=Comment(user=row[12], system=row[13]),
        caller_number=row[14],
    )
