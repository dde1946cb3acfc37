"""Projection of the CAMPAIGN_EVENTS stream: the campaign rows (smart parts as rows of
their own), each campaign's history and each account's stop-list.

A batch is applied in the caller's transaction together with the stream sequence and the
campaign-log position it reached; messages at or below the stored sequence are skipped,
so a redelivery or a duplicate changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import structlog

from zvonar_contracts import campaign_events as ev
from zvonar_contracts.codec import decode, decode_campaign_stream_event, encode
from zvonar_contracts.options import (
    FINAL_STATUSES,
    CallerIdRouting,
    CampaignOptions,
    Status,
    tags_of,
)
from zvonar_runtime.db import Cursor
from zvonar_stats.adapters.checkpoints import Checkpoint, read_checkpoint, write_checkpoint
from zvonar_stats.adapters.schema import CAMPAIGN_STREAM_KEY, Tables
from zvonar_stats.domain import rules
from zvonar_stats.domain.envelope import Envelope

log = structlog.get_logger("zvonar.stats.campaigns")

_ROW_COLUMNS = (
    "id, account_id, created_at, name, name_folded, tags, smart_part, parent_id, status, "
    "scheduled_at, started_at, total, speed, comment_user, comment_system, caller_number, "
    "has_smart, options, deleted"
)
_ROW_PLACEHOLDERS = ", ".join("?" * len(_ROW_COLUMNS.split(",")))
_FINAL = tuple(str(s) for s in FINAL_STATUSES)


def apply_campaign_batch(cur: Cursor, t: Tables, batch: Sequence[Envelope]) -> Checkpoint:
    done = read_checkpoint(cur, t, CAMPAIGN_STREAM_KEY, lock=True)
    seq, position = done.seq, done.position
    fresh: list[tuple[Envelope, Any]] = []
    for envelope in batch:
        if envelope.seq <= seq:
            continue
        fresh.append((envelope, _decode(envelope)))
        seq, position = envelope.seq, max(position, envelope.position)
    touched = sorted(
        {event.campaign_id for _, event in fresh if event is not None and _touches_rows(event)}
    )
    before = row_groups(cur, t, touched)
    for envelope, event in fresh:
        if event is not None:
            _apply_one(cur, t, envelope, event)
    add_account_counts(cur, t, _difference(row_groups(cur, t, touched), before))
    reached = Checkpoint(seq=seq, position=position)
    if reached != done:
        write_checkpoint(cur, t, CAMPAIGN_STREAM_KEY, reached)
    return reached


def _decode(envelope: Envelope) -> Any:
    try:
        return decode_campaign_stream_event(envelope.data)
    except msgspec.ValidationError as exc:
        # A message no reader can decode would block the stream for ever if nacked;
        # it is logged and passed over (a rebuild after an upgrade picks it up).
        log.error("undecodable_campaign_event", seq=envelope.seq, error=str(exc))
        return None


def _touches_rows(event: Any) -> bool:
    return not isinstance(event, ev.StopListPhonesAdded | ev.StopListPhonesRemoved)


def _apply_one(cur: Cursor, t: Tables, envelope: Envelope, event: Any) -> None:
    if isinstance(event, ev.StopListPhonesAdded | ev.StopListPhonesRemoved):
        _stop_list(cur, t, event)
        return
    HANDLERS.get(type(event), _lifecycle)(cur, t, event)
    _record_history(cur, t, event, event.campaign_id, envelope.seq)
    if isinstance(event, ev.SmartPartStarted | ev.SmartPartFinished):
        _record_history(cur, t, event, event.part_campaign_id, envelope.seq)


# (account, status, tags): how many visible rows of that group
Groups = dict[tuple[str, str, str], int]
_GROUP_CHUNK = 400


def row_groups(cur: Cursor, t: Tables, campaign_ids: Sequence[int]) -> Groups:
    """The visible rows of these campaigns and their parts, by account, status and tags.
    An event changes only its campaign's row and its parts' rows (id or parent_id), so
    this before and after a batch is what the batch did to the per-account counts."""
    groups: Groups = {}
    for start in range(0, len(campaign_ids), _GROUP_CHUNK):
        chunk = list(campaign_ids[start : start + _GROUP_CHUNK])
        params: list[Any]
        if cur.dialect == "postgres":
            clause, params = "(id = ANY(?) OR parent_id = ANY(?))", [chunk, chunk]
        else:
            marks = ", ".join("?" * len(chunk))
            clause, params = f"(id IN ({marks}) OR parent_id IN ({marks}))", chunk + chunk
        for account_id, status, tags, rows in cur.execute(
            f"SELECT account_id, status, tags, COUNT(*) FROM {t.campaigns} "
            f"WHERE deleted = 0 AND {clause} GROUP BY account_id, status, tags",
            params,
        ).fetchall():
            key = (str(account_id), str(status), str(tags))
            groups[key] = groups.get(key, 0) + int(rows)
    return groups


def _difference(after: Groups, before: Groups) -> Groups:
    keys = sorted(after.keys() | before.keys())
    changes = {key: after.get(key, 0) - before.get(key, 0) for key in keys}
    return {key: change for key, change in changes.items() if change}


def add_account_counts(cur: Cursor, t: Tables, changes: Groups) -> None:
    """Adds each group's change to the per-account counts (in key order, so two
    transactions that touch the same accounts lock their rows in one order); a group that
    comes to 0 rows is removed."""
    if not changes:
        return
    n = t.account_counts
    ordered = sorted(changes.items())
    cur.executemany(
        f"INSERT INTO {n} (account_id, status, tags, rows) VALUES (?, ?, ?, ?) "
        f"ON CONFLICT (account_id, status, tags) DO UPDATE SET rows = {n}.rows + excluded.rows",
        [(*key, change) for key, change in ordered],
    )
    emptied = [key for key, change in ordered if change < 0]
    if emptied:
        cur.executemany(
            f"DELETE FROM {n} WHERE account_id = ? AND status = ? AND tags = ? AND rows <= 0",
            emptied,
        )


def recount_accounts(cur: Cursor, t: Tables, accounts: set[str]) -> None:
    """Recounts the visible rows of each account by status and tags from the rows (a bulk
    fill's way; the projection adds each batch's changes with add_account_counts)."""
    for account_id in sorted(accounts):
        cur.execute(f"DELETE FROM {t.account_counts} WHERE account_id = ?", (account_id,))
        cur.execute(
            f"INSERT INTO {t.account_counts} (account_id, status, tags, rows) "
            f"SELECT account_id, status, tags, COUNT(*) FROM {t.campaigns} "
            "WHERE account_id = ? AND deleted = 0 GROUP BY account_id, status, tags",
            (account_id,),
        )


def _created(cur: Cursor, t: Tables, event: Any) -> None:
    assert isinstance(event, ev.CampaignCreated)
    cur.execute(INSERT_ROW.format(table=t.campaigns), created_row(event))


INSERT_ROW = (
    f"INSERT INTO {{table}} ({_ROW_COLUMNS}) VALUES ({_ROW_PLACEHOLDERS}) "
    "ON CONFLICT (id) DO NOTHING"
)


def created_row(event: ev.CampaignCreated) -> tuple[Any, ...]:
    """The list row a new campaign starts as, in INSERT_ROW's column order."""
    options = event.options
    caller = options.routing.number if isinstance(options.routing, CallerIdRouting) else None
    tags = ",".join(tags_of(options))
    return (
        event.campaign_id,
        event.account_id,
        rules.utc_text(event.at),
        options.name,
        rules.fold(options.name),
        f",{tags},",
        None,
        None,
        str(Status.MODERATION),
        None,
        None,
        event.phones.count,
        options.speed,
        options.comment,
        "",
        caller,
        int(options.smart is not None),
        encode(options).decode(),
        0,
    )


def _part_started(cur: Cursor, t: Tables, event: Any) -> None:
    assert isinstance(event, ev.SmartPartStarted)
    parent = cur.execute(
        f"SELECT account_id, name, speed, caller_number, options, comment_user, deleted "
        f"FROM {t.campaigns} WHERE id = ?",
        (event.campaign_id,),
    ).fetchone()
    if parent is None:
        log.error("smart_part_of_unknown_campaign", campaign_id=event.campaign_id)
        return
    account_id, name, speed, caller, options_json, comment, deleted = parent
    options = decode(options_json, CampaignOptions)
    tags = ",".join(tags_of(options, smart_part=event.part))
    at = rules.utc_text(event.at)
    # Calls follow the dialer's clock; so does the part's start when the event carries it.
    started = rules.utc_text(event.started_at or event.at)
    row = (
        event.part_campaign_id,
        account_id,
        at,
        name,
        rules.fold(name),
        f",{tags},",
        event.part,
        event.campaign_id,
        str(Status.IN_PROGRESS),
        None,
        started,
        event.phone_count,
        speed,
        comment,
        "",
        caller,
        0,
        options_json,
        deleted,
    )
    cur.execute(INSERT_ROW.format(table=t.campaigns), row)


def _part_finished(cur: Cursor, t: Tables, event: Any) -> None:
    assert isinstance(event, ev.SmartPartFinished)
    _set(cur, t, event.part_campaign_id, status=str(Status.FINISHED))


def _parts_cancelled(cur: Cursor, t: Tables, event: Any) -> None:
    assert isinstance(event, ev.SmartPartsCancelled)
    for part in event.parts:
        cur.execute(
            f"UPDATE {t.campaigns} SET status = ? WHERE parent_id = ? AND smart_part = ? "
            f"AND status NOT IN ({', '.join('?' * len(_FINAL))})",
            (str(Status.STOPPED), event.campaign_id, part, *_FINAL),
        )


def _comment_changed(cur: Cursor, t: Tables, event: Any) -> None:
    assert isinstance(event, ev.CampaignCommentChanged)
    _set(cur, t, event.campaign_id, comment_user=event.text)


def _number_released(cur: Cursor, t: Tables, event: Any) -> None:
    _set(cur, t, event.campaign_id, caller_number=None)
    cur.execute(
        f"UPDATE {t.campaigns} SET caller_number = NULL WHERE parent_id = ?", (event.campaign_id,)
    )


def _deleted(cur: Cursor, t: Tables, event: Any) -> None:
    cur.execute(
        f"UPDATE {t.campaigns} SET deleted = 1 WHERE id = ? OR parent_id = ?",
        (event.campaign_id, event.campaign_id),
    )


def _lifecycle(cur: Cursor, t: Tables, event: Any) -> None:
    """Status, start column and system comment of a row, mirrored onto running parts."""
    changes: dict[str, Any] = {}
    status = rules.status_after(event)
    if status is not None:
        changes["status"] = str(status)
    if isinstance(event, ev.CampaignScheduled):
        changes["scheduled_at"] = rules.utc_text(event.start_at)
    elif isinstance(event, ev.CampaignModerated) and status == Status.SCHEDULED:
        # The Scheduled event follows in its own message: the row must not read "scheduled"
        # without its time in between, so the time comes from the options it was created with.
        start_at = _options_start_at(cur, t, event.campaign_id)
        if start_at is not None:
            changes["scheduled_at"] = start_at
    if isinstance(event, ev.CampaignStarted):
        changes["started_at"] = rules.utc_text(event.started_at)
    comment = rules.system_comment_of(event)
    if comment is not None:
        changes["comment_system"] = comment
    if changes:
        _set(cur, t, event.campaign_id, **changes)
    if status is not None:
        _mirror_on_parts(cur, t, event)


def _options_start_at(cur: Cursor, t: Tables, campaign_id: int) -> str | None:
    row = cur.execute(f"SELECT options FROM {t.campaigns} WHERE id = ?", (campaign_id,)).fetchone()
    if row is None:
        return None
    options = decode(row[0], CampaignOptions)
    return None if options.start_at is None else rules.utc_text(options.start_at)


def _mirror_on_parts(cur: Cursor, t: Tables, event: Any) -> None:
    parts = cur.execute(
        f"SELECT id, status FROM {t.campaigns} WHERE parent_id = ?", (event.campaign_id,)
    ).fetchall()
    for part_id, current in parts:
        status = rules.part_status_after(event, Status(current))
        if status is not None:
            _set(cur, t, part_id, status=str(status))


def _set(cur: Cursor, t: Tables, row_id: int, **changes: Any) -> None:
    assignments = ", ".join(f"{column} = ?" for column in changes)
    cur.execute(f"UPDATE {t.campaigns} SET {assignments} WHERE id = ?", (*changes.values(), row_id))


def _stop_list(cur: Cursor, t: Tables, event: ev.StopListEvent) -> None:
    rows = [(event.account_id, phone) for phone in event.phones]
    if isinstance(event, ev.StopListPhonesAdded):
        cur.executemany(
            f"INSERT INTO {t.stop_list} (account_id, phone) VALUES (?, ?) "
            "ON CONFLICT (account_id, phone) DO NOTHING",
            rows,
        )
    else:
        cur.executemany(f"DELETE FROM {t.stop_list} WHERE account_id = ? AND phone = ?", rows)


def _record_history(cur: Cursor, t: Tables, event: Any, row_id: int, seq: int) -> None:
    details = json.dumps(rules.history_details(event), ensure_ascii=False)
    cur.execute(
        f"INSERT INTO {t.history} (campaign_id, seq, type, at, details) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (campaign_id, seq) DO NOTHING",
        (row_id, seq, type(event).__name__, rules.utc_text(event.at), details),
    )


Handler = Callable[[Cursor, Tables, Any], None]
HANDLERS: dict[type, Handler] = {
    ev.CampaignCreated: _created,
    ev.SmartPartStarted: _part_started,
    ev.SmartPartFinished: _part_finished,
    ev.SmartPartsCancelled: _parts_cancelled,
    ev.CampaignCommentChanged: _comment_changed,
    ev.CampaignNumberReleased: _number_released,
    ev.CampaignDeleted: _deleted,
}
