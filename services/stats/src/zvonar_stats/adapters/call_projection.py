"""Projection of the CALL_EVENTS stream: report rows and the cost ledger (one row per
call id), each number's result within its row, and the counters of every row.

Rows are keyed by (main campaign, part) exactly as CallCompleted names them, not by the
row id a smart part gets: a call may be projected before the campaign stream has shown
its part, and nothing then depends on the order of the two streams. Each row's cost is
the exact sum of its own calls' charges: a smart part's calls cost on the part's row, the
main pass's on the campaign's row (the report of the campaign lists every part's calls).

A whole batch costs a handful of statements: the call ids already known, the number
results already known, then bulk inserts and one counter upsert per touched row.

A rebuild's first pass fills an empty generation nobody else writes: `apply_call_replay`
then looks nothing up. The calls go in by COPY (a duplicate call id in the stream makes it
fall back to the lookup), each number's best attempt is upserted with `ON CONFLICT … WHERE
excluded.rank > rank`, and only costs are counted per batch; `finish_call_replay` counts
the numbers' results once at the end. The tables come out exactly as apply_call_batch
leaves them: a number's result is the first attempt of the highest rank either way.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
import structlog

from zvonar_contracts.call_events import CallCompleted
from zvonar_contracts.codec import decode_call_event
from zvonar_runtime.db import Cursor
from zvonar_stats.adapters.checkpoints import Checkpoint, read_checkpoint, write_checkpoint
from zvonar_stats.adapters.schema import CALL_STREAM_KEY, Tables
from zvonar_stats.domain import rules
from zvonar_stats.domain.envelope import Envelope

log = structlog.get_logger("zvonar.stats.calls")
_CHUNK = 400
RowKey = tuple[int, int]
NumberKey = tuple[int, int, str]


def apply_call_batch(cur: Cursor, t: Tables, batch: Sequence[Envelope]) -> Checkpoint:
    done = read_checkpoint(cur, t, CALL_STREAM_KEY, lock=True)
    fresh = [e for e in batch if e.seq > done.seq]
    if not fresh:
        return done
    calls = _new_calls(cur, t, _decode(fresh))
    if calls:
        _insert_calls(cur, t, calls)
        _count(cur, t, [call for _, call in calls])
    reached = Checkpoint(seq=fresh[-1].seq, position=done.position)
    write_checkpoint(cur, t, CALL_STREAM_KEY, reached)
    return reached


def apply_call_replay(cur: Cursor, t: Tables, batch: Sequence[Envelope]) -> Checkpoint:
    """apply_call_batch for a rebuild's first pass; the counts of the numbers' results are
    left to finish_call_replay (costs are counted here)."""
    done = read_checkpoint(cur, t, CALL_STREAM_KEY)
    fresh = [e for e in batch if e.seq > done.seq]
    if not fresh:
        return done
    unique: dict[str, tuple[int, CallCompleted]] = {}
    for seq, call in _decode(fresh):
        unique.setdefault(call.call_id, (seq, call))
    calls = list(unique.values())
    if calls and not _insert_all_new(cur, t, calls):
        calls = _new_calls(cur, t, calls)
        _insert_calls(cur, t, calls)
    if calls:
        _replay_results(cur, t, [call for _, call in calls])
    reached = Checkpoint(seq=fresh[-1].seq, position=done.position)
    write_checkpoint(cur, t, CALL_STREAM_KEY, reached)
    return reached


def finish_call_replay(cur: Cursor, t: Tables) -> None:
    """Adds every row's result counters, counted from its numbers, to the costs the
    replay left in the counts table."""
    deltas: dict[RowKey, rules.Counters] = {}
    for campaign_id, part, category, numbers in cur.execute(
        f"SELECT campaign_id, part, category, COUNT(*) FROM {t.numbers} "
        "GROUP BY campaign_id, part, category"
    ).fetchall():
        row = deltas.setdefault((int(campaign_id), int(part)), rules.Counters())
        row.count(category, int(numbers))
    if deltas:
        _store_counters(cur, t, deltas)


def _insert_all_new(cur: Cursor, t: Tables, calls: list[tuple[int, CallCompleted]]) -> bool:
    """Inserts the calls if none is in the ledger yet; False (and nothing written) if one is."""
    cur.execute("SAVEPOINT replay_calls")
    try:
        _insert_calls(cur, t, calls)
    except Exception as exc:
        if not _is_unique_violation(exc):
            raise
        cur.execute("ROLLBACK TO SAVEPOINT replay_calls")
        cur.execute("RELEASE SAVEPOINT replay_calls")
        return False
    cur.execute("RELEASE SAVEPOINT replay_calls")
    return True


def _is_unique_violation(exc: Exception) -> bool:
    if isinstance(exc, sqlite3.IntegrityError):
        return "UNIQUE" in str(exc)
    return getattr(exc, "sqlstate", None) == "23505"


def _replay_results(cur: Cursor, t: Tables, calls: list[CallCompleted]) -> None:
    """Each number's best attempt of the batch, kept where it outranks the stored one;
    each row's cost."""
    best: dict[NumberKey, tuple[int, str]] = {}
    costs: dict[RowKey, rules.Counters] = {}
    for call in calls:
        row = costs.get((call.campaign_id, call.part))
        if row is None:
            row = costs[(call.campaign_id, call.part)] = rules.Counters()
        row.cost_micros += rules.cost_micros(call.cost)
        key = (call.campaign_id, call.part, call.phone)
        rank = rules.rank_of(call)
        held = best.get(key)
        if held is None or rank > held[0]:
            best[key] = (rank, rules.category_of(call))
    n = t.numbers
    upsert = (
        f"ON CONFLICT (campaign_id, part, phone) DO UPDATE SET rank = excluded.rank, "
        f"category = excluded.category WHERE excluded.rank > {n}.rank"
    )
    if cur.dialect == "postgres":
        columns: tuple[list[Any], ...] = ([], [], [], [], [])
        for (campaign_id, part, phone), (rank, category) in best.items():
            for column, value in zip(
                columns, (campaign_id, part, phone, rank, category), strict=True
            ):
                column.append(value)
        cur.execute(
            f"INSERT INTO {n} (campaign_id, part, phone, rank, category) "
            "SELECT * FROM unnest(?::bigint[], ?::integer[], ?::text[], ?::bigint[], ?::text[]) "
            + upsert,
            columns,
        )
    else:
        cur.executemany(
            f"INSERT INTO {n} (campaign_id, part, phone, rank, category) VALUES (?, ?, ?, ?, ?) "
            + upsert,
            [(*key, *result) for key, result in best.items()],
        )
    _store_counters(cur, t, costs)


def _decode(batch: Iterable[Envelope]) -> list[tuple[int, CallCompleted]]:
    calls: list[tuple[int, CallCompleted]] = []
    for envelope in batch:
        try:
            event = decode_call_event(envelope.data)
        except msgspec.ValidationError as exc:
            log.error("undecodable_call_event", seq=envelope.seq, error=str(exc))
            continue
        if isinstance(event, CallCompleted):
            calls.append((envelope.seq, event))
    return calls


def _new_calls(
    cur: Cursor, t: Tables, calls: list[tuple[int, CallCompleted]]
) -> list[tuple[int, CallCompleted]]:
    """Calls whose id neither the ledger nor an earlier message of the batch holds."""
    unique: dict[str, tuple[int, CallCompleted]] = {}
    for seq, call in calls:
        unique.setdefault(call.call_id, (seq, call))
    for chunk in _chunks(list(unique)):
        clause, params = _any_of(cur, "call_id", chunk)
        for (call_id,) in cur.execute(
            f"SELECT call_id FROM {t.calls} WHERE {clause}", params
        ).fetchall():
            unique.pop(call_id, None)
    return list(unique.values())


_CALL_COLUMNS = (
    "call_id",
    "seq",
    "campaign_id",
    "part",
    "phone",
    "attempt",
    "started_at",
    "outcome",
    "duration_s",
    "cost",
    "answer_text",
    "lead",
    "recording",
)


def _insert_calls(cur: Cursor, t: Tables, calls: list[tuple[int, CallCompleted]]) -> None:
    _bulk_insert(
        cur,
        t.calls,
        _CALL_COLUMNS,
        [
            (
                c.call_id,
                seq,
                c.campaign_id,
                c.part,
                c.phone,
                c.attempt,
                rules.utc_text(c.started_at),
                c.outcome,
                c.duration_s,
                str(c.cost),
                c.answer_text,
                int(c.lead),
                c.recording,
            )
            for seq, c in calls
        ],
    )


def _count(cur: Cursor, t: Tables, calls: list[CallCompleted]) -> None:
    results = _known_results(cur, t, {(c.campaign_id, c.part, c.phone) for c in calls})
    known = set(results)
    deltas: dict[RowKey, rules.Counters] = {}
    changed: dict[NumberKey, tuple[int, str]] = {}
    for call in calls:
        row = deltas.setdefault((call.campaign_id, call.part), rules.Counters())
        row.cost_micros += rules.cost_micros(call.cost)
        key = (call.campaign_id, call.part, call.phone)
        rank, category = results.get(key, (-1, rules.IN_PROGRESS))
        if rules.rank_of(call) <= rank:
            continue
        new_category = rules.category_of(call)
        row.count(category, -1)
        row.count(new_category, 1)
        results[key] = changed[key] = (rules.rank_of(call), new_category)
    _store_results(cur, t, changed, known)
    _store_counters(cur, t, deltas)


def _known_results(
    cur: Cursor, t: Tables, keys: set[NumberKey]
) -> dict[NumberKey, tuple[int, str]]:
    by_row: dict[RowKey, list[str]] = {}
    for campaign_id, part, phone in keys:
        by_row.setdefault((campaign_id, part), []).append(phone)
    found: dict[NumberKey, tuple[int, str]] = {}
    for (campaign_id, part), phones in by_row.items():
        for chunk in _chunks(phones):
            clause, params = _any_of(cur, "phone", chunk)
            rows = cur.execute(
                f"SELECT phone, rank, category FROM {t.numbers} WHERE campaign_id = ? "
                f"AND part = ? AND {clause}",
                (campaign_id, part, *params),
            ).fetchall()
            for phone, rank, category in rows:
                found[(campaign_id, part, phone)] = (int(rank), category)
    return found


def _store_results(
    cur: Cursor, t: Tables, changed: dict[NumberKey, tuple[int, str]], known: set[NumberKey]
) -> None:
    fresh = [(*key, *result) for key, result in changed.items() if key not in known]
    _bulk_insert(cur, t.numbers, ("campaign_id", "part", "phone", "rank", "category"), fresh)
    moved = [(*result, *key) for key, result in changed.items() if key in known]
    if moved:
        cur.executemany(
            f"UPDATE {t.numbers} SET rank = ?, category = ? "
            "WHERE campaign_id = ? AND part = ? AND phone = ?",
            moved,
        )


def _store_counters(cur: Cursor, t: Tables, deltas: dict[RowKey, rules.Counters]) -> None:
    n = t.counts
    cur.executemany(
        f"INSERT INTO {n} (campaign_id, part, stop_listed, answered, leads, not_answered, "
        "cost_micros) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (campaign_id, part) DO UPDATE "
        f"SET stop_listed = {n}.stop_listed + excluded.stop_listed, "
        f"answered = {n}.answered + excluded.answered, leads = {n}.leads + excluded.leads, "
        f"not_answered = {n}.not_answered + excluded.not_answered, "
        f"cost_micros = {n}.cost_micros + excluded.cost_micros",
        [
            (cid, part, d.stop_listed, d.answered, d.leads, d.not_answered, d.cost_micros)
            for (cid, part), d in deltas.items()
        ],
    )


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def _any_of(cur: Cursor, column: str, values: list[Any]) -> tuple[str, list[Any]]:
    """`column` is one of `values`: one array parameter on PostgreSQL, a list on SQLite."""
    if cur.dialect == "postgres":
        return f"{column} = ANY(?)", [values]
    return f"{column} IN ({', '.join('?' * len(values))})", list(values)


def _bulk_insert(
    cur: Cursor, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """New rows only (the caller has filtered what exists): COPY on PostgreSQL."""
    if rows:
        cur.insert_rows(table, columns, rows)
