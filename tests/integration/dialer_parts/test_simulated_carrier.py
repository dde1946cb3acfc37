"""The simulated carrier keeps a durable record per call id: a call id is rung once, even
across a new carrier on the same store (a dialer restart), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from zvonar_contracts.options import WordsIvr
from zvonar_dialer.adapters.simulated_carrier import SimulatedCarrier
from zvonar_dialer.service_layer.ports import CallRequest
from zvonar_runtime.db import Cursor, Database

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgres"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, pg_database_factory: Callable[[], str]
) -> Iterator[Callable[[], Database]]:
    """Opens the same store again on every call, as a restarted dialer would."""
    opened: list[Database] = []
    url = pg_database_factory() if request.param == "postgres" else None

    def open_store() -> Database:
        db = Database.from_settings(url, tmp_path / "dialer.sqlite3", "dialer")
        opened.append(db)
        return db

    yield open_store
    for db in opened:
        db.close()


def request_for(phone: str, attempt: int = 1) -> CallRequest:
    return CallRequest(
        call_id=f"1000001-0-{phone[1:]}-{attempt}",
        campaign_id=1000001,
        part=0,
        phone=phone,
        caller_number="+74950000001",
        message_duration_s=10.0,
        amd=True,
        ivr=WordsIvr(lead_words=["да"]),
        record=False,
        started_at=datetime(2026, 11, 25, 9, tzinfo=UTC),
    )


async def test_each_last_digit_gets_the_table_outcome(store: Callable[[], Database]) -> None:
    carrier = SimulatedCarrier(store())
    outcomes = [
        (await carrier.place_call(request_for(f"+7916000000{d}"))).outcome for d in range(10)
    ]
    assert outcomes == ["answered"] * 6 + ["no_answer", "no_answer", "machine", "answered"]
    assert carrier.rung == 10


async def test_a_call_id_is_rung_once_and_replays_its_first_result(
    store: Callable[[], Database],
) -> None:
    carrier = SimulatedCarrier(store())
    first = await carrier.place_call(request_for("+79160000009"))
    again = await carrier.place_call(request_for("+79160000009"))
    assert again == first and first.lead
    assert carrier.rung == 1
    assert await carrier.result_of(first.call_id) == first


async def test_the_record_survives_a_new_carrier_on_the_same_store(
    store: Callable[[], Database],
) -> None:
    before = SimulatedCarrier(store())
    first = await before.place_call(request_for("+79160000003"))

    after = SimulatedCarrier(store())
    assert await after.result_of(first.call_id) == first
    assert await after.place_call(request_for("+79160000003")) == first
    assert after.rung == 0
    assert await after.calls_recorded() == 1


async def test_a_new_attempt_is_a_new_call(store: Callable[[], Database]) -> None:
    carrier = SimulatedCarrier(store())
    await carrier.place_call(request_for("+79160000006", attempt=1))
    await carrier.place_call(request_for("+79160000006", attempt=2))
    assert carrier.rung == 2


async def test_concurrent_placements_of_one_call_id_ring_once(
    store: Callable[[], Database],
) -> None:
    carrier = SimulatedCarrier(store())
    results = await asyncio.gather(
        *(carrier.place_call(request_for("+79160000001")) for _ in range(8))
    )
    assert len(set(results)) == 1
    assert carrier.rung == 1


async def test_result_of_an_unknown_call_is_none(store: Callable[[], Database]) -> None:
    assert await SimulatedCarrier(store()).result_of("1000001-0-70000000000-1") is None


async def test_each_ring_is_a_row_of_its_own_with_its_number_and_part(
    store: Callable[[], Database],
) -> None:
    db = store()
    carrier = SimulatedCarrier(db)
    await carrier.place_calls([request_for("+79160000001"), request_for("+79160000002")])
    await carrier.place_call(request_for("+79160000001"))  # a replay: no ring
    await carrier.place_call(request_for("+79160000001", attempt=2))  # a new call: a ring

    def rings(cur: Cursor) -> list[tuple[str, int, int, str]]:
        cur.execute("SELECT call_id, campaign_id, part, phone FROM carrier_rings ORDER BY call_id")
        return [(str(r[0]), int(r[1]), int(r[2]), str(r[3])) for r in cur.fetchall()]

    assert await db.run(rings) == [
        ("1000001-0-79160000001-1", 1000001, 0, "+79160000001"),
        ("1000001-0-79160000001-2", 1000001, 0, "+79160000001"),
        ("1000001-0-79160000002-1", 1000001, 0, "+79160000002"),
    ]
