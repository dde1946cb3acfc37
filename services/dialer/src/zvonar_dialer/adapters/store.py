"""The dialer's state store: SQL over a `Cursor`, one function per question or change.

Every function runs inside the caller's transaction, so a handler combines several of them
(state change + outbox row + consumer position) into one atomic step. The service layer sees
them through its port (service_layer.ports.Tx): `SqlTx` is one transaction's view of these
functions, `SqlTransactions` runs a handler's transaction on the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple, TypeVar

import msgspec

from zvonar_contracts.options import Status
from zvonar_dialer.adapters import lease_fences
from zvonar_dialer.domain.campaign import ACTIVE_STATUSES, Campaign
from zvonar_dialer.domain.partitions import OutboxScope
from zvonar_dialer.service_layer.ports import (
    DeliveryRow,
    Final,
    NewDelivery,
    Number,
    PlacedCall,
    Tx,
)
from zvonar_runtime.db import Cursor, Database

T = TypeVar("T")

_campaign_decoder = msgspec.json.Decoder(Campaign)


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" for _ in values)


# --- meta: clock origin, consumer position ---------------------------------------------------
def meta_get(cur: Cursor, key: str) -> str | None:
    row = cur.execute("SELECT value FROM dialer_meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def meta_put(cur: Cursor, key: str, value: str) -> None:
    cur.execute(
        "INSERT INTO dialer_meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def clock_origin(cur: Cursor, now: dt.datetime) -> dt.datetime:
    """The origin kept since the store was created (`now` if this is the first call)."""
    cur.execute(
        "INSERT INTO dialer_meta (key, value) VALUES ('clock_origin', ?) "
        "ON CONFLICT (key) DO NOTHING",
        (now.isoformat(),),
    )
    stored = meta_get(cur, "clock_origin")
    assert stored is not None
    return dt.datetime.fromisoformat(stored)


def applied_sequence(cur: Cursor) -> int:
    value = meta_get(cur, "campaign_events_seq")
    return int(value) if value else 0


def set_applied_sequence(cur: Cursor, sequence: int) -> None:
    meta_put(cur, "campaign_events_seq", str(sequence))


# --- campaigns ------------------------------------------------------------------------------
def load_campaign(cur: Cursor, campaign_id: int) -> Campaign | None:
    lock = " FOR UPDATE" if cur.dialect == "postgres" else ""
    row = cur.execute(
        f"SELECT state FROM campaigns WHERE campaign_id = ?{lock}", (campaign_id,)
    ).fetchone()
    return None if row is None else _campaign_decoder.decode(row[0])


def save_campaign(cur: Cursor, campaign: Campaign) -> None:
    cur.execute(
        "INSERT INTO campaigns (campaign_id, account_id, status, state) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (campaign_id) DO UPDATE SET status = excluded.status, "
        "state = excluded.state",
        (
            campaign.campaign_id,
            campaign.account_id,
            str(campaign.status),
            msgspec.json.encode(campaign).decode(),
        ),
    )


def active_campaign_ids(cur: Cursor) -> list[int]:
    statuses = [str(s) for s in ACTIVE_STATUSES]
    rows = cur.execute(
        f"SELECT campaign_id FROM campaigns WHERE status IN ({_marks(statuses)}) "
        "ORDER BY campaign_id",
        statuses,
    ).fetchall()
    return [int(r[0]) for r in rows]


def paused_campaign_ids(cur: Cursor) -> list[int]:
    rows = cur.execute(
        "SELECT campaign_id FROM campaigns WHERE status = ? ORDER BY campaign_id",
        (str(Status.PAUSED),),
    ).fetchall()
    return [int(r[0]) for r in rows]


def campaign_status(cur: Cursor, campaign_id: int) -> Status | None:
    row = cur.execute(
        "SELECT status FROM campaigns WHERE campaign_id = ?", (campaign_id,)
    ).fetchone()
    return None if row is None else Status(row[0])


# --- numbers --------------------------------------------------------------------------------
def has_numbers(cur: Cursor, campaign_id: int, part: int) -> bool:
    row = cur.execute(
        "SELECT 1 FROM numbers WHERE campaign_id = ? AND part = ? LIMIT 1", (campaign_id, part)
    ).fetchone()
    return row is not None


def insert_numbers(cur: Cursor, campaign_id: int, part: int, numbers: Iterable[Number]) -> None:
    """Queue a part's numbers. The callers insert a part once, under the campaign's row lock
    (`loaded`, `has_numbers`), so PostgreSQL takes them with one COPY instead of a statement
    per number; SQLite (in-process, no round trips) keeps the idempotent INSERT."""
    cur.insert_rows(
        "numbers",
        ("campaign_id", "part", "seq", "phone", "tz", "state"),
        ((campaign_id, part, n.seq, n.phone, n.tz, "queued") for n in numbers),
        skip_existing=True,
    )


def has_state(cur: Cursor, campaign_id: int, part: int, state: str) -> bool:
    row = cur.execute(
        "SELECT 1 FROM numbers WHERE campaign_id = ? AND part = ? AND state = ? LIMIT 1",
        (campaign_id, part, state),
    ).fetchone()
    return row is not None


def queued_timezones(cur: Cursor, campaign_id: int, part: int) -> list[str]:
    rows = cur.execute(
        "SELECT DISTINCT tz FROM numbers WHERE campaign_id = ? AND part = ? AND state = 'queued'",
        (campaign_id, part),
    ).fetchall()
    return sorted(str(r[0]) for r in rows)


def queued_numbers(
    cur: Cursor,
    campaign_id: int,
    part: int,
    timezones: Sequence[str],
    limit: int,
    after_seq: int = -1,
) -> list[Number]:
    """The next queued numbers in base order (past `after_seq`) in the given zones."""
    rows = cur.execute(
        "SELECT seq, phone, tz FROM numbers WHERE campaign_id = ? AND part = ? "
        f"AND state = 'queued' AND seq > ? AND tz IN ({_marks(timezones)}) ORDER BY seq LIMIT ?",
        (campaign_id, part, after_seq, *timezones, limit),
    ).fetchall()
    return [Number(int(r[0]), str(r[1]), str(r[2])) for r in rows]


def mark_placing(cur: Cursor, calls: Sequence[PlacedCall]) -> None:
    """Record the intent to call (state placing + call id) of a claimed burst."""
    if not calls:
        return
    if cur.dialect == "postgres":  # one statement per part, not one per number
        parts: dict[tuple[int, int], list[PlacedCall]] = {}
        for call in calls:
            parts.setdefault((call.campaign_id, call.part), []).append(call)
        for (campaign_id, part), group in parts.items():
            _mark_placing_postgres(cur, campaign_id, part, group)
        return
    cur.executemany(
        "UPDATE numbers SET state = 'placing', call_id = ?, started_at = ?, caller_number = ? "
        "WHERE campaign_id = ? AND part = ? AND seq = ? AND state = 'queued'",
        (
            (c.call_id, c.started_at.isoformat(), c.caller_number, c.campaign_id, c.part, c.seq)
            for c in calls
        ),
    )


def _mark_placing_postgres(
    cur: Cursor, campaign_id: int, part: int, calls: Sequence[PlacedCall]
) -> None:
    cur.execute(
        "UPDATE numbers AS n SET state = 'placing', call_id = v.call_id, "
        "started_at = v.started_at, caller_number = v.caller_number "
        "FROM unnest(?::int[], ?::text[], ?::text[], ?::text[]) "
        "AS v(seq, call_id, started_at, caller_number) "
        "WHERE n.campaign_id = ? AND n.part = ? AND n.seq = v.seq AND n.state = 'queued'",
        (
            [c.seq for c in calls],
            [c.call_id for c in calls],
            [c.started_at.isoformat() for c in calls],
            [c.caller_number for c in calls],
            campaign_id,
            part,
        ),
    )


def mark_done(
    cur: Cursor, campaign_id: int, part: int, seq: int, outcome: str, call_id: str | None
) -> bool:
    """Record a number's final result; False if it was already final (a replay)."""
    cur.execute(
        "UPDATE numbers SET state = 'done', outcome = ?, call_id = COALESCE(call_id, ?) "
        "WHERE campaign_id = ? AND part = ? AND seq = ? AND state <> 'done'",
        (outcome, call_id, campaign_id, part, seq),
    )
    return cur.rowcount > 0


def mark_done_many(cur: Cursor, campaign_id: int, part: int, finals: Sequence[Final]) -> set[int]:
    """Record many numbers' final results at once (one seq once in `finals`); the seqs that
    were not final before (the others are replays). A concurrent writer of the same number
    waits on its row and then finds it final: a result is written once."""
    if not finals:
        return set()
    if cur.dialect == "postgres":
        return _mark_done_postgres(cur, campaign_id, part, finals)
    # SQLite has one writer (BEGIN IMMEDIATE): nobody changes the rows between the two.
    seqs = [f.seq for f in finals]
    rows = cur.execute(
        "SELECT seq FROM numbers WHERE campaign_id = ? AND part = ? AND state <> 'done' "
        f"AND seq IN ({_marks(seqs)})",
        (campaign_id, part, *seqs),
    ).fetchall()
    open_seqs = {int(r[0]) for r in rows}
    cur.executemany(
        "UPDATE numbers SET state = 'done', outcome = ?, call_id = COALESCE(call_id, ?) "
        "WHERE campaign_id = ? AND part = ? AND seq = ? AND state <> 'done'",
        ((f.outcome, f.call_id, campaign_id, part, f.seq) for f in finals if f.seq in open_seqs),
    )
    return open_seqs


def _mark_done_postgres(
    cur: Cursor, campaign_id: int, part: int, finals: Sequence[Final]
) -> set[int]:
    # One statement for the whole burst. (A statement per number was also slow for another
    # reason: on a freshly loaded, not yet analysed table the planner walked the
    # numbers_by_state index for each one instead of the primary key.)
    rows = cur.execute(
        "UPDATE numbers AS n SET state = 'done', outcome = v.outcome, "
        "call_id = COALESCE(n.call_id, v.call_id) "
        "FROM unnest(?::int[], ?::text[], ?::text[]) AS v(seq, outcome, call_id) "
        "WHERE n.campaign_id = ? AND n.part = ? AND n.seq = v.seq AND n.state <> 'done' "
        "RETURNING n.seq",
        (
            [f.seq for f in finals],
            [f.outcome for f in finals],
            [f.call_id for f in finals],
            campaign_id,
            part,
        ),
    ).fetchall()
    return {int(r[0]) for r in rows}


def cancel_queued(cur: Cursor, campaign_id: int, parts: Sequence[int]) -> None:
    if parts:
        cur.execute(
            "UPDATE numbers SET state = 'cancelled' WHERE campaign_id = ? AND state = 'queued' "
            f"AND part IN ({_marks(parts)})",
            (campaign_id, *parts),
        )


def placing_calls(cur: Cursor) -> list[PlacedCall]:
    rows = cur.execute(
        "SELECT campaign_id, part, seq, phone, call_id, started_at, caller_number FROM numbers "
        "WHERE state = 'placing' ORDER BY campaign_id, part, seq"
    ).fetchall()
    return [
        PlacedCall(
            int(r[0]),
            int(r[1]),
            int(r[2]),
            str(r[3]),
            str(r[4]),
            dt.datetime.fromisoformat(r[5]),
            r[6],
        )
        for r in rows
    ]


def placing_zones(cur: Cursor, calls: Sequence[PlacedCall]) -> dict[str, str]:
    """The zone of each of `calls` still `placing` under its call id, by call id (the others
    were resolved meanwhile)."""
    if not calls:
        return {}
    ids = [c.call_id for c in calls]
    rows = cur.execute(
        "SELECT call_id, tz FROM numbers WHERE campaign_id = ? AND state = 'placing' "
        f"AND call_id IN ({_marks(ids)})",
        (calls[0].campaign_id, *ids),
    ).fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def unplace(cur: Cursor, calls: Sequence[PlacedCall], state: str) -> None:
    """Calls never placed go back from `placing` to `state` (`queued`: dialled at their turn
    once their campaign runs again; `cancelled`: with their part), the intent forgotten."""
    cur.executemany(
        "UPDATE numbers SET state = ?, call_id = NULL, started_at = NULL, caller_number = NULL "
        "WHERE campaign_id = ? AND part = ? AND seq = ? AND state = 'placing' AND call_id = ?",
        ((state, c.campaign_id, c.part, c.seq, c.call_id) for c in calls),
    )


def part_results(cur: Cursor, campaign_id: int, part: int) -> list[tuple[int, str, str, str]]:
    """(seq, phone, tz, outcome) of every finished number of a part, in base order."""
    rows = cur.execute(
        "SELECT seq, phone, tz, outcome FROM numbers WHERE campaign_id = ? AND part = ? "
        "AND state = 'done' ORDER BY seq",
        (campaign_id, part),
    ).fetchall()
    return [(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]


# --- stop-list ------------------------------------------------------------------------------
def stop_list_add(cur: Cursor, account_id: str, phones: Sequence[str]) -> None:
    cur.executemany(
        "INSERT INTO stop_list (account_id, phone) VALUES (?, ?) ON CONFLICT DO NOTHING",
        ((account_id, p) for p in phones),
    )


def stop_list_remove(cur: Cursor, account_id: str, phones: Sequence[str]) -> None:
    cur.executemany(
        "DELETE FROM stop_list WHERE account_id = ? AND phone = ?",
        ((account_id, p) for p in phones),
    )


def stop_listed(cur: Cursor, account_id: str, phones: Sequence[str]) -> set[str]:
    if not phones:
        return set()
    rows = cur.execute(
        f"SELECT phone FROM stop_list WHERE account_id = ? AND phone IN ({_marks(phones)})",
        (account_id, *phones),
    ).fetchall()
    return {str(r[0]) for r in rows}


# --- caller numbers ------------------------------------------------------------------------
def caller_usage(cur: Cursor, day: str, pool: Sequence[str]) -> dict[str, int]:
    if not pool:
        return {}
    rows = cur.execute(
        f"SELECT number, calls FROM caller_usage WHERE day = ? AND number IN ({_marks(pool)})",
        (day, *pool),
    ).fetchall()
    return {str(r[0]): int(r[1]) for r in rows}


def add_caller_usage(cur: Cursor, day: str, calls: dict[str, int]) -> None:
    """Count `calls` more calls on each caller number today: added in the statement (two
    dialers, or two campaigns of one, choosing at once both count)."""
    cur.executemany(
        "INSERT INTO caller_usage (day, number, calls) VALUES (?, ?, ?) "
        "ON CONFLICT (day, number) DO UPDATE SET calls = caller_usage.calls + excluded.calls",
        ((day, number, n) for number, n in sorted(calls.items()) if n),
    )


def route_to(cur: Cursor, numbers: Iterable[str], campaign_id: int) -> None:
    cur.executemany(
        "INSERT INTO inbound_routes (number, campaign_id) VALUES (?, ?) "
        "ON CONFLICT (number) DO UPDATE SET campaign_id = excluded.campaign_id",
        ((n, campaign_id) for n in set(numbers)),
    )


def drop_routes(cur: Cursor, campaign_id: int) -> None:
    cur.execute("DELETE FROM inbound_routes WHERE campaign_id = ?", (campaign_id,))


def route_of(cur: Cursor, number: str) -> int | None:
    row = cur.execute(
        "SELECT campaign_id FROM inbound_routes WHERE number = ?", (number,)
    ).fetchone()
    return None if row is None else int(row[0])


# --- outbox ---------------------------------------------------------------------------------
class OutboxRow(NamedTuple):
    id: int
    msg_id: str
    subject: str
    payload: bytes


def outbox_add(
    cur: Cursor, msg_id: str, subject: str, payload: bytes, campaign_id: int | None = None
) -> None:
    cur.execute(
        "INSERT INTO outbox (msg_id, subject, payload, campaign_id) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (msg_id) DO NOTHING",
        (msg_id, subject, payload.decode(), campaign_id),
    )


def outbox_add_many(
    cur: Cursor, rows: Sequence[tuple[str, str, bytes]], campaign_id: int | None = None
) -> None:
    """(msg_id, subject, payload) rows of one campaign: one statement on PostgreSQL,
    executemany on SQLite."""
    if not rows:
        return
    if cur.dialect == "postgres":
        msg_ids, subjects, payloads = zip(*rows, strict=True)
        cur.execute(
            # ORDER BY the position: the ids (publication order) follow the events' order.
            "INSERT INTO outbox (msg_id, subject, payload, campaign_id) SELECT v.m, v.s, v.p, ? "
            "FROM unnest(?::text[], ?::text[], ?::text[]) WITH ORDINALITY AS v(m, s, p, i) "
            "ORDER BY v.i ON CONFLICT (msg_id) DO NOTHING",
            (campaign_id, list(msg_ids), list(subjects), [p.decode() for p in payloads]),
        )
        return
    cur.executemany(
        "INSERT INTO outbox (msg_id, subject, payload, campaign_id) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (msg_id) DO NOTHING",
        ((msg_id, subject, payload.decode(), campaign_id) for msg_id, subject, payload in rows),
    )


def outbox_pending(cur: Cursor, limit: int, scope: OutboxScope | None = None) -> list[OutboxRow]:
    """The oldest rows to publish (`scope`: only those; None: every row)."""
    if scope is None or len(scope.held) >= scope.partitions:
        rows = cur.execute(
            "SELECT id, msg_id, subject, payload FROM outbox ORDER BY id LIMIT ?", (limit,)
        ).fetchall()
    elif not scope.held:
        return []
    else:
        held = sorted(scope.held)
        modulo = "campaign_id %% ?" if cur.dialect == "postgres" else "campaign_id % ?"
        legacy = " OR campaign_id IS NULL" if 0 in scope.held else ""
        rows = cur.execute(
            "SELECT id, msg_id, subject, payload FROM outbox "
            f"WHERE ({modulo}) IN ({_marks(held)}){legacy} ORDER BY id LIMIT ?",
            (scope.partitions, *held, limit),
        ).fetchall()
    return [OutboxRow(int(r[0]), str(r[1]), str(r[2]), str(r[3]).encode()) for r in rows]


def outbox_delete(cur: Cursor, ids: Sequence[int]) -> None:
    if ids:
        cur.execute(f"DELETE FROM outbox WHERE id IN ({_marks(ids)})", tuple(ids))


# --- webhook deliveries (the webhook outbox and its log) -----------------------------------
class DueDelivery(NamedTuple):
    id: int
    webhook_id: str
    campaign_id: int
    url: str
    secret_ref: str | None
    payload: bytes
    attempts: int
    created_at: float


def webhook_add_many(cur: Cursor, rows: Sequence[NewDelivery]) -> None:
    """Queue posts; one already queued under the same webhook id is left as it is."""
    cur.executemany(
        "INSERT INTO webhook_deliveries (webhook_id, campaign_id, account_id, event, call_id, "
        "url, secret_ref, payload, state, attempts, created_at, next_attempt_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (webhook_id) DO NOTHING",
        (
            (
                r.webhook_id,
                r.campaign_id,
                r.account_id,
                r.event,
                r.call_id,
                r.url,
                r.secret_ref,
                r.payload.decode(),
                r.created_at,
                r.created_at,
            )
            for r in rows
        ),
    )


def webhook_claim_due(cur: Cursor, now: float, limit: int, lease_s: float) -> list[DueDelivery]:
    """Pending posts due by `now`, oldest due first, leased for `lease_s`: their next
    attempt moves past the lease, so another sender (or this one, after a crash mid-post)
    takes them again only once the lease is over."""
    lock = " FOR UPDATE SKIP LOCKED" if cur.dialect == "postgres" else ""
    rows = cur.execute(
        "SELECT id, webhook_id, campaign_id, url, secret_ref, payload, attempts, created_at "
        "FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= ? "
        f"ORDER BY next_attempt_at, id LIMIT ?{lock}",
        (now, limit),
    ).fetchall()
    due = [
        DueDelivery(
            int(r[0]),
            str(r[1]),
            int(r[2]),
            str(r[3]),
            r[4],
            str(r[5]).encode(),
            int(r[6]),
            float(r[7]),
        )
        for r in rows
    ]
    if due:
        ids = [d.id for d in due]
        cur.execute(
            f"UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id IN ({_marks(ids)})",
            (now + lease_s, *ids),
        )
    return due


def webhook_attempted(
    cur: Cursor,
    delivery_id: int,
    *,
    state: str,
    status: int | None,
    error: str | None,
    next_attempt_at: float | None,
    delivered_at: float | None,
) -> None:
    """Record one attempt of a post and what follows it."""
    cur.execute(
        "UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, last_status = ?, "
        "last_error = ?, next_attempt_at = ?, delivered_at = ? WHERE id = ?",
        (state, status, error, next_attempt_at, delivered_at, delivery_id),
    )


def webhook_next_due(cur: Cursor) -> float | None:
    """When the earliest pending post is due (None: nothing pending)."""
    row = cur.execute(
        "SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE state = 'pending'"
    ).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def webhook_page(
    cur: Cursor,
    campaign_id: int,
    account_id: str,
    state: str | None,
    page: int,
    per_page: int,
) -> tuple[list[DeliveryRow], int]:
    """A page of a campaign's posts, newest first, and how many there are in all."""
    where = "campaign_id = ? AND account_id = ?"
    params: list[object] = [campaign_id, account_id]
    if state is not None:
        where += " AND state = ?"
        params.append(state)
    total = int(
        cur.execute(f"SELECT COUNT(*) FROM webhook_deliveries WHERE {where}", params).fetchone()[0]
    )
    rows = cur.execute(
        "SELECT webhook_id, event, call_id, state, attempts, last_status, last_error, "
        f"created_at, next_attempt_at, delivered_at FROM webhook_deliveries WHERE {where} "
        "ORDER BY id DESC LIMIT ? OFFSET ?",
        (*params, per_page, (page - 1) * per_page),
    ).fetchall()
    return [
        DeliveryRow(
            str(r[0]),
            str(r[1]),
            r[2],
            str(r[3]),
            int(r[4]),
            None if r[5] is None else int(r[5]),
            r[6],
            float(r[7]),
            None if r[8] is None else float(r[8]),
            None if r[9] is None else float(r[9]),
        )
        for r in rows
    ], total


def count_numbers(cur: Cursor, campaign_id: int, part: int) -> int:
    row = cur.execute(
        "SELECT COUNT(*) FROM numbers WHERE campaign_id = ? AND part = ?", (campaign_id, part)
    ).fetchone()
    return int(row[0])


# --- the service layer's port (service_layer.ports.Tx, .Transactions) ----------------------
class SqlTx:
    """One transaction's view of the store: the functions above on its cursor."""

    def __init__(self, cur: Cursor) -> None:
        self.cur = cur

    def applied_sequence(self) -> int:
        return applied_sequence(self.cur)

    def set_applied_sequence(self, sequence: int) -> None:
        set_applied_sequence(self.cur, sequence)

    def load_campaign(self, campaign_id: int) -> Campaign | None:
        return load_campaign(self.cur, campaign_id)

    def save_campaign(self, campaign: Campaign) -> None:
        save_campaign(self.cur, campaign)

    def active_campaign_ids(self) -> list[int]:
        return active_campaign_ids(self.cur)

    def paused_campaign_ids(self) -> list[int]:
        return paused_campaign_ids(self.cur)

    def has_numbers(self, campaign_id: int, part: int) -> bool:
        return has_numbers(self.cur, campaign_id, part)

    def count_numbers(self, campaign_id: int, part: int) -> int:
        return count_numbers(self.cur, campaign_id, part)

    def insert_numbers(self, campaign_id: int, part: int, numbers: Iterable[Number]) -> None:
        insert_numbers(self.cur, campaign_id, part, numbers)

    def has_state(self, campaign_id: int, part: int, state: str) -> bool:
        return has_state(self.cur, campaign_id, part, state)

    def queued_timezones(self, campaign_id: int, part: int) -> list[str]:
        return queued_timezones(self.cur, campaign_id, part)

    def queued_numbers(
        self,
        campaign_id: int,
        part: int,
        timezones: Sequence[str],
        limit: int,
        after_seq: int = -1,
    ) -> list[Number]:
        return queued_numbers(self.cur, campaign_id, part, timezones, limit, after_seq)

    def mark_placing(self, calls: Sequence[PlacedCall]) -> None:
        mark_placing(self.cur, calls)

    def mark_done(
        self, campaign_id: int, part: int, seq: int, outcome: str, call_id: str | None
    ) -> bool:
        return mark_done(self.cur, campaign_id, part, seq, outcome, call_id)

    def mark_done_many(self, campaign_id: int, part: int, finals: Sequence[Final]) -> set[int]:
        return mark_done_many(self.cur, campaign_id, part, finals)

    def cancel_queued(self, campaign_id: int, parts: Sequence[int]) -> None:
        cancel_queued(self.cur, campaign_id, parts)

    def placing_calls(self) -> list[PlacedCall]:
        return placing_calls(self.cur)

    def placing_zones(self, calls: Sequence[PlacedCall]) -> dict[str, str]:
        return placing_zones(self.cur, calls)

    def unplace(self, calls: Sequence[PlacedCall], state: str) -> None:
        unplace(self.cur, calls, state)

    def part_results(self, campaign_id: int, part: int) -> list[tuple[int, str, str, str]]:
        return part_results(self.cur, campaign_id, part)

    def stop_list_add(self, account_id: str, phones: Sequence[str]) -> None:
        stop_list_add(self.cur, account_id, phones)

    def stop_list_remove(self, account_id: str, phones: Sequence[str]) -> None:
        stop_list_remove(self.cur, account_id, phones)

    def stop_listed(self, account_id: str, phones: Sequence[str]) -> set[str]:
        return stop_listed(self.cur, account_id, phones)

    def caller_usage(self, day: str, pool: Sequence[str]) -> dict[str, int]:
        return caller_usage(self.cur, day, pool)

    def add_caller_usage(self, day: str, calls: dict[str, int]) -> None:
        add_caller_usage(self.cur, day, calls)

    def route_to(self, caller_numbers: Iterable[str], campaign_id: int) -> None:
        route_to(self.cur, caller_numbers, campaign_id)

    def drop_routes(self, campaign_id: int) -> None:
        drop_routes(self.cur, campaign_id)

    def route_of(self, caller_number: str) -> int | None:
        return route_of(self.cur, caller_number)

    def outbox_add(
        self, msg_id: str, subject: str, payload: bytes, campaign_id: int | None = None
    ) -> None:
        outbox_add(self.cur, msg_id, subject, payload, campaign_id)

    def outbox_add_many(
        self, rows: Sequence[tuple[str, str, bytes]], campaign_id: int | None = None
    ) -> None:
        outbox_add_many(self.cur, rows, campaign_id)

    def webhook_add_many(self, rows: Sequence[NewDelivery]) -> None:
        webhook_add_many(self.cur, rows)

    def webhook_page(
        self, campaign_id: int, account_id: str, state: str | None, page: int, per_page: int
    ) -> tuple[list[DeliveryRow], int]:
        return webhook_page(self.cur, campaign_id, account_id, state, page, per_page)

    def fence_of(self, part_no: int) -> int | None:
        return lease_fences.fence_of(self.cur, part_no)

    def take_fence(self, part_no: int, holder: str) -> int:
        return lease_fences.take_fence(self.cur, part_no, holder)

    def partition_placing(self, partitions: int, part_no: int) -> set[str]:
        return lease_fences.placing_calls(self.cur, partitions, part_no)


class SqlTransactions:
    """The dialer's `Transactions` on its database (SQLite or PostgreSQL)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def run(self, work: Callable[[Tx], T]) -> T:
        return await self.db.run(lambda cur: work(SqlTx(cur)))

    def is_transient(self, exc: BaseException) -> bool:
        return self.db.is_transient(exc)
