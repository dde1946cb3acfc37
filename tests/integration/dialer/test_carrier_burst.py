"""The simulated carrier takes a burst in one transaction: results in request order, known
call ids replayed (not rung), new ones rung once — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from zvonar_contracts.options import WordsIvr
from zvonar_dialer.adapters.simulated_carrier import SimulatedCarrier, simulate
from zvonar_dialer.service_layer.ports import CallRequest
from zvonar_runtime.db import Database

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgres"])
def db(
    request: pytest.FixtureRequest, tmp_path: Path, pg_database_factory: Callable[[], str]
) -> Iterator[Database]:
    url = pg_database_factory() if request.param == "postgres" else None
    database = Database.from_settings(url, tmp_path / "dialer.sqlite3", "dialer")
    yield database
    database.close()


def request_for(n: int) -> CallRequest:
    phone = f"+7916{n:07d}"
    return CallRequest(
        call_id=f"1000001-0-{phone[1:]}-1",
        campaign_id=1000001,
        part=0,
        phone=phone,
        caller_number=None if n % 3 == 0 else "+74950000001",
        message_duration_s=10.0,
        amd=n % 2 == 0,
        ivr=WordsIvr(lead_words=["да"]),
        record=False,
        started_at=datetime(2026, 11, 25, 9, tzinfo=UTC),
    )


async def test_a_burst_is_answered_in_order_and_rung_once(db: Database) -> None:
    carrier = SimulatedCarrier(db)
    first = [request_for(n) for n in range(0, 300)]
    results = await carrier.place_calls(first)
    assert results == [simulate(r) for r in first]
    assert carrier.rung == 300

    # Half known, half new, in another order: the known ones replay their first result.
    mixed = [request_for(n) for n in range(449, 149, -1)]
    again = await carrier.place_calls(mixed)
    assert [r.call_id for r in again] == [r.call_id for r in mixed]
    assert again == [simulate(r) for r in mixed]
    assert carrier.rung == 450
    assert await carrier.calls_recorded() == 450
    assert await carrier.result_of(request_for(449).call_id) == simulate(request_for(449))


async def test_overlapping_bursts_ring_each_call_id_once(db: Database) -> None:
    carrier = SimulatedCarrier(db)
    bursts = [[request_for(n) for n in range(start, start + 100)] for start in (0, 50, 25, 0)]
    answers = await asyncio.gather(*(carrier.place_calls(b) for b in bursts))
    for burst, results in zip(bursts, answers, strict=True):
        assert results == [simulate(r) for r in burst]
    assert carrier.rung == 150
    assert await carrier.calls_recorded() == 150


async def test_an_empty_burst_places_nothing(db: Database) -> None:
    carrier = SimulatedCarrier(db)
    assert await carrier.place_calls([]) == []
    assert carrier.rung == 0
