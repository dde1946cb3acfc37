"""A rebuild's first pass (apply_call_replay, then finish_call_replay) leaves exactly the
tables the service's own apply_call_batch leaves, whatever the batch sizes: retries across
batches, attempts out of order, duplicate call ids (the same call again, and a different
call under an id already taken), two attempts of the same rank, both parts of a row; and a
later pass of apply_call_batch carries on from it."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from zvonar_contracts.call_events import CallCompleted, call_id_of
from zvonar_contracts.codec import encode
from zvonar_runtime.db import Cursor, Database
from zvonar_stats.adapters.call_projection import (
    apply_call_batch,
    apply_call_replay,
    finish_call_replay,
)
from zvonar_stats.adapters.schema import Tables, analyze_generation, ensure_schema
from zvonar_stats.domain.envelope import Envelope

pytestmark = pytest.mark.integration

T0 = dt.datetime(2026, 6, 17, 9, 0, tzinfo=dt.UTC)
OUTCOMES = ("answered", "no_answer", "busy", "machine", "failed", "stop_listed")
Apply = Callable[[Cursor, Tables, list[Envelope]], object]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Database]]:
    """Makes empty stores of one backend (a schema each on one PostgreSQL database)."""
    made: list[Database] = []
    pg_url = request.getfixturevalue("pg_url") if request.param == "postgres" else None

    def make() -> Database:
        name = f"stats_{uuid.uuid4().hex[:8]}"
        db = Database.from_settings(pg_url, tmp_path / f"{name}.sqlite3", name)
        made.append(db)
        return db

    yield make
    for db in made:
        db.close()


def _story(seed: int) -> list[Envelope]:
    rng = random.Random(seed)
    calls: list[CallCompleted] = []
    for _ in range(400):
        cid = 5_000_001 + rng.randrange(3)
        part = rng.choice((0, 0, 1))
        phone = f"+7916000{rng.randrange(60):04d}"
        attempt = rng.randint(1, 3)
        outcome = rng.choice(OUTCOMES)
        calls.append(
            CallCompleted(
                campaign_id=cid,
                account_id="acc_replay",
                at=T0,
                call_id=call_id_of(cid, part, phone, attempt),
                phone=phone,
                part=part,
                attempt=attempt,
                started_at=T0 + dt.timedelta(seconds=attempt),
                outcome=outcome,  # type: ignore[arg-type]
                duration_s=3.5,
                billed_s=60,
                cost=Decimal(rng.randrange(0, 300)) / 100 if outcome == "answered" else Decimal(0),
                lead=outcome == "answered" and rng.random() < 0.3,
                final=rng.random() < 0.7,
            )
        )
    events = list(calls)
    for call in rng.sample(calls, 40):  # the same call again, far from the first
        events.insert(rng.randrange(len(events) + 1), call)
    for call in rng.sample(calls, 10):  # another outcome under an id already used
        again = msgspec.structs.replace(call, outcome="busy", cost=Decimal("0.07"))
        events.insert(rng.randrange(len(events) + 1), again)
    for call in rng.sample(calls, 10):  # another call of the same rank for the number
        other = msgspec.structs.replace(
            call, call_id=f"{call.call_id}-x", outcome="no_answer", cost=Decimal("0.01")
        )
        events.insert(rng.randrange(len(events) + 1), other)
    return [Envelope(seq=seq, data=encode(event)) for seq, event in enumerate(events, start=1)]


def _feed(db: Database, apply: Apply, envelopes: list[Envelope], size: int) -> None:
    t = db.run_sync(ensure_schema)
    for i in range(0, len(envelopes), size):
        chunk = envelopes[i : i + size]
        db.run_sync(lambda cur, c=chunk: apply(cur, t, c))  # type: ignore[misc]


def _dump(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    def work(cur: Cursor) -> dict[str, list[tuple[Any, ...]]]:
        t = ensure_schema(cur)
        return {
            table: sorted(tuple(row) for row in cur.execute(f"SELECT * FROM {name}").fetchall())
            for table, name in (
                ("counts", t.counts),
                ("numbers", t.numbers),
                ("calls", t.calls),
                ("checkpoints", t.checkpoints),
            )
        }

    return db.run_sync(work)


@pytest.mark.parametrize(
    ("seed", "service_batch", "replay_batch"), [(1, 7, 13), (2, 50, 1), (3, 1, 500)]
)
def test_the_replay_leaves_the_tables_the_service_leaves(
    databases: Callable[[], Database], seed: int, service_batch: int, replay_batch: int
) -> None:
    envelopes = _story(seed)
    service, replayed = databases(), databases()
    _feed(service, apply_call_batch, envelopes, service_batch)

    _feed(replayed, apply_call_replay, envelopes, replay_batch)
    replayed.run_sync(lambda cur: finish_call_replay(cur, ensure_schema(cur)))

    expected = _dump(service)
    assert _dump(replayed) == expected
    assert len(expected["calls"]) < len(envelopes)  # the duplicates were there to skip
    assert any(row[4] == "" for row in expected["numbers"])  # and numbers still in progress


def test_the_service_path_carries_on_after_a_replayed_prefix(
    databases: Callable[[], Database],
) -> None:
    envelopes = _story(4)
    service, replayed = databases(), databases()
    _feed(service, apply_call_batch, envelopes, 20)

    cut = len(envelopes) * 2 // 3
    _feed(replayed, apply_call_replay, envelopes[:cut], 33)
    replayed.run_sync(lambda cur: finish_call_replay(cur, ensure_schema(cur)))
    replayed.run_sync(lambda cur: analyze_generation(cur, ensure_schema(cur)))
    # A redelivered replay batch is skipped by the checkpoint, then the service's path.
    _feed(replayed, apply_call_replay, envelopes[cut - 10 : cut], 10)
    _feed(replayed, apply_call_batch, envelopes[cut - 5 :], 9)

    assert _dump(replayed) == _dump(service)
