"""The simulated carrier: the default telephony, answering by the number's last digit.

docs/API.md "The simulated carrier":

| last digit | outcome |
|---|---|
| 0–5 | answers, listens to the whole message, says "нет" / presses nothing |
| 6, 7 | no answer |
| 8 | an answering machine: `machine` with AMD on, else it passes for `answered` |
| 9 | answers and says "да" / presses 1 (a lead where the IVR lists it) |

Durations: an answered call lasts the message plus the answer — 1.5 s for a spoken
word (people speak even without an IVR listening), 0.5 s for a key, nothing for silence
or a machine. Unanswered calls and detected machines have no talk time (duration 0).
Nothing sleeps: results come at once, so the dialer can run it at unlimited speed.

Every call id is recorded durably in the table `carrier_calls` of the given store, in
the same transaction that decides the result: a call id seen before (by this instance
or one before a restart) gets the first result back and rings nobody again. A burst
(`place_calls`) is recorded in one transaction: one commit for all its calls.

Every ring is also a row of its own in `carrier_rings` (its own id; the call id, the
campaign, the part and the number), written in that transaction. It is the carrier's
account of whom it rang, kept apart from the call-id record that decides whether to ring:
whoever checks that nobody was rung twice in a part counts these rows per number and part.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import partial
from typing import Any

import structlog

from zvonar_contracts.options import Ivr, KeysIvr, WordsIvr
from zvonar_dialer.service_layer.ports import CallRequest, CallResult
from zvonar_runtime.db import Cursor, Database

log = structlog.get_logger("zvonar.dialer.carrier")

SPOKEN_ANSWER_S = 1.5
KEY_ANSWER_S = 0.5
NO = "нет"
YES = "да"
YES_KEY = "1"

_CALLS = """
CREATE TABLE IF NOT EXISTS carrier_calls (
    call_id TEXT PRIMARY KEY,
    phone TEXT NOT NULL,
    caller_number TEXT,
    started_at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    duration_s DOUBLE PRECISION NOT NULL,
    answer_text TEXT NOT NULL,
    lead INTEGER NOT NULL,
    requests INTEGER NOT NULL
)
"""
_RING_ID = {"sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT", "postgres": "BIGSERIAL PRIMARY KEY"}
# One row per ring: a call id is not unique here, so a second ring would show.
_RINGS = """
CREATE TABLE IF NOT EXISTS carrier_rings (
    ring_id {ring_id},
    call_id TEXT NOT NULL,
    campaign_id BIGINT NOT NULL,
    part INTEGER NOT NULL,
    phone TEXT NOT NULL,
    started_at TEXT NOT NULL
)
"""
_COLUMNS = "call_id, outcome, duration_s, answer_text, lead"


def _answer(digit: int, request: CallRequest) -> tuple[str, float, bool]:
    """What a person answering says or presses: (answer text, its length, lead)."""
    interested = digit == 9
    if isinstance(request.ivr, KeysIvr):
        if not interested:
            return "", 0.0, False
        return YES_KEY, KEY_ANSWER_S, YES_KEY in request.ivr.lead_keys
    word = YES if interested else NO
    if isinstance(request.ivr, WordsIvr):
        leads = {lead.strip().casefold() for lead in request.ivr.lead_words}
        return word, SPOKEN_ANSWER_S, word in leads
    return word, SPOKEN_ANSWER_S, False


def simulate(request: CallRequest) -> CallResult:
    """The carrier table applied to one request (pure; no record kept)."""
    last = request.phone[-1:]
    if not last.isdigit():
        return CallResult(call_id=request.call_id, outcome="failed", duration_s=0.0)
    digit = int(last)
    if digit in (6, 7):
        return CallResult(call_id=request.call_id, outcome="no_answer", duration_s=0.0)
    if digit == 8:
        if request.amd:
            return CallResult(call_id=request.call_id, outcome="machine", duration_s=0.0)
        # An undetected machine records the whole message and says nothing.
        return CallResult(request.call_id, "answered", request.message_duration_s)
    text, length, lead = _answer(digit, request)
    return CallResult(
        call_id=request.call_id,
        outcome="answered",
        duration_s=round(request.message_duration_s + length, 3),
        answer_text=text,
        lead=lead,
    )


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" for _ in values)


def _result_from_row(row: Any) -> CallResult:
    call_id, outcome, duration_s, answer_text, lead = row
    return CallResult(
        call_id=call_id,
        outcome=outcome,
        duration_s=float(duration_s),
        answer_text=answer_text,
        lead=bool(lead),
    )


def _record(requests: Sequence[CallRequest], cur: Cursor) -> tuple[dict[str, CallResult], set[str]]:
    """(the stored result of every call id, the call ids rung now). A known call id only
    counts one more request; `requests` = 1 afterwards means this transaction inserted it
    (a concurrent placement of the same id waits on the row and then sees 2) — and rang it,
    so it gets its row in `carrier_rings`."""
    rows = []
    for request in requests:
        result = simulate(request)
        rows.append(
            (
                request.call_id,
                request.phone,
                request.caller_number,
                request.started_at.isoformat(),
                result.outcome,
                result.duration_s,
                result.answer_text,
                int(result.lead),
                request.campaign_id,
                request.part,
            )
        )
    if cur.dialect == "postgres":
        return _rows_of(_record_postgres(cur, rows))
    cur.executemany(
        "INSERT INTO carrier_calls (call_id, phone, caller_number, started_at, outcome,"
        " duration_s, answer_text, lead, requests) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)"
        " ON CONFLICT (call_id) DO UPDATE SET requests = carrier_calls.requests + 1",
        [row[:8] for row in rows],
    )
    ids = [request.call_id for request in requests]
    cur.execute(
        f"SELECT {_COLUMNS}, requests FROM carrier_calls WHERE call_id IN ({_marks(ids)})", ids
    )
    stored, rang = _rows_of(cur.fetchall())
    cur.executemany(
        "INSERT INTO carrier_rings (call_id, campaign_id, part, phone, started_at)"
        " VALUES (?, ?, ?, ?, ?)",
        [(row[0], row[8], row[9], row[1], row[3]) for row in rows if row[0] in rang],
    )
    return stored, rang


def _record_postgres(cur: Cursor, rows: list[tuple[Any, ...]]) -> list[Any]:
    """The burst in one statement: insert the new ids, count a request on the known ones,
    and write a ring row for each id inserted."""
    columns = list(zip(*rows, strict=True))
    cur.execute(
        "WITH v AS (SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[],"
        " ?::text[], ?::float8[], ?::text[], ?::int[], ?::bigint[], ?::int[])"
        " AS v(call_id, phone, caller_number, started_at, outcome, duration_s, answer_text,"
        " lead, campaign_id, part)),"
        " calls AS (INSERT INTO carrier_calls (call_id, phone, caller_number, started_at,"
        " outcome, duration_s, answer_text, lead, requests)"
        " SELECT call_id, phone, caller_number, started_at, outcome, duration_s, answer_text,"
        " lead, 1 FROM v"
        " ON CONFLICT (call_id) DO UPDATE SET requests = carrier_calls.requests + 1"
        f" RETURNING {_COLUMNS}, requests),"
        " rings AS (INSERT INTO carrier_rings (call_id, campaign_id, part, phone, started_at)"
        " SELECT v.call_id, v.campaign_id, v.part, v.phone, v.started_at"
        " FROM v JOIN calls ON calls.call_id = v.call_id WHERE calls.requests = 1)"
        f" SELECT {_COLUMNS}, requests FROM calls",
        [list(column) for column in columns],
    )
    return cur.fetchall()


def _rows_of(rows: list[Any]) -> tuple[dict[str, CallResult], set[str]]:
    stored: dict[str, CallResult] = {}
    rang: set[str] = set()
    for row in rows:
        stored[row[0]] = _result_from_row(row[:5])
        if int(row[5]) == 1:
            rang.add(row[0])
    return stored, rang


def _create_schema(cur: Cursor) -> None:
    cur.execute(_CALLS)
    cur.execute(_RINGS.format(ring_id=_RING_ID[cur.dialect]))


class SimulatedCarrier:
    """Telephony by the last-digit table, idempotent on the call id with a durable record."""

    background = False  # results come at once: a pass waits for its burst
    channels_total = None  # no line limit

    def __init__(self, db: Database) -> None:
        self._db = db
        self._ready = False
        self._schema_lock = asyncio.Lock()
        self.rung = 0  # calls actually rung by this instance (replays excluded)
        self.busy_channels = 0  # calls being placed now (zvonar_dialer_channels_in_use)

    def note_for(self, ivr: Ivr | None) -> str:
        """Every IVR is simulated: nothing to say."""
        return ""

    async def _ensure_schema(self) -> None:
        if self._ready:
            return
        async with self._schema_lock:
            if not self._ready:
                await self._db.run(_create_schema)
                self._ready = True

    async def place_call(self, request: CallRequest) -> CallResult:
        (result,) = await self.place_calls([request])
        return result

    async def place_calls(self, requests: Sequence[CallRequest]) -> list[CallResult]:
        """Ring every call id not seen before and record all of them in one transaction
        (committed before this returns, so the dialer records a result only after the
        carrier's record of it is durable); a call id seen before rings nobody and gets its
        first result back."""
        if not requests:
            return []
        await self._ensure_schema()
        unique = list({r.call_id: r for r in requests}.values())
        self.busy_channels += len(unique)
        try:
            stored, rang = await self._db.run(partial(_record, unique))
        finally:
            self.busy_channels -= len(unique)
        self.rung += len(rang)
        for call_id in stored.keys() - rang:
            log.info("carrier_call_replayed", call_id=call_id, outcome=stored[call_id].outcome)
        return [stored[r.call_id] for r in requests]

    async def result_of(self, call_id: str) -> CallResult | None:
        await self._ensure_schema()

        def lookup(cur: Cursor) -> CallResult | None:
            cur.execute(f"SELECT {_COLUMNS} FROM carrier_calls WHERE call_id = ?", (call_id,))
            row = cur.fetchone()
            return None if row is None else _result_from_row(row)

        return await self._db.run(lookup)

    async def calls_recorded(self) -> int:
        """How many distinct call ids were ever rung on this store (all instances)."""
        await self._ensure_schema()

        def count(cur: Cursor) -> int:
            cur.execute("SELECT COUNT(*) FROM carrier_calls")
            return int(cur.fetchone()[0])

        return await self._db.run(count)


__all__ = ["KEY_ANSWER_S", "SPOKEN_ANSWER_S", "SimulatedCarrier", "simulate"]
