"""The "nobody rung twice" check that the fault suite and the dialer's kill test run can
fail: it counts rings per (campaign, number, part) from the simulated carrier's own record
of rings, and reports a double ring injected there — through the carrier (one number placed
twice in a part under two call ids) or as a second ring row of one call id (which a record
keyed by call id could never hold). Likewise the call-by-call "nobody dialled twice" check
(`dial_faults`): each kind of double dial it knows is reported."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from tests.reliability.invariants import (
    CallLog,
    carrier_call_rings,
    carrier_repeat_requests,
    carrier_rings,
    dial_faults,
    ring_faults,
)
from zvonar_contracts.call_events import call_id_of
from zvonar_dialer.adapters.simulated_carrier import SimulatedCarrier
from zvonar_dialer.service_layer.ports import CallRequest
from zvonar_runtime.db import Database

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

CAMPAIGN = 1000001
ANN, BOB = "+79160000001", "+79160000006"


def request_for(phone: str, part: int = 0, attempt: int = 1) -> CallRequest:
    return CallRequest(
        call_id=call_id_of(CAMPAIGN, part, phone, attempt),
        campaign_id=CAMPAIGN,
        part=part,
        phone=phone,
        caller_number=None,
        message_duration_s=10.0,
        amd=True,
        ivr=None,
        record=False,
        started_at=datetime(2026, 11, 25, 9, tzinfo=UTC),
    )


@pytest.fixture
async def carrier(pg_url: str, tmp_path: Path) -> AsyncIterator[SimulatedCarrier]:
    """The carrier on the `dialer` schema of a fresh database, as the dialer runs it."""
    db = Database.from_settings(pg_url, tmp_path / "unused.sqlite3", "dialer")
    yield SimulatedCarrier(db)
    db.close()


async def test_one_ring_per_number_and_part_passes_the_check(
    carrier: SimulatedCarrier, pg_url: str
) -> None:
    await carrier.place_calls([request_for(ANN), request_for(BOB), request_for(BOB, part=1)])
    await carrier.place_call(request_for(BOB))  # a replayed call id rings nobody

    rings = carrier_rings(pg_url)

    assert rings == Counter({(CAMPAIGN, ANN, 0): 1, (CAMPAIGN, BOB, 0): 1, (CAMPAIGN, BOB, 1): 1})
    assert ring_faults(rings, set(rings)) == {}


async def test_a_number_placed_twice_in_a_part_is_reported(
    carrier: SimulatedCarrier, pg_url: str
) -> None:
    await carrier.place_call(request_for(ANN))
    await carrier.place_call(request_for(BOB))
    await carrier.place_call(request_for(ANN, attempt=2))  # the injected double ring

    faults = ring_faults(carrier_rings(pg_url), {(CAMPAIGN, ANN, 0), (CAMPAIGN, BOB, 0)})

    assert faults == {(CAMPAIGN, ANN, 0): 2}


async def test_one_call_id_rung_twice_is_reported(carrier: SimulatedCarrier, pg_url: str) -> None:
    await carrier.place_call(request_for(ANN))
    with psycopg.connect(pg_url) as conn:  # the carrier rang the same call id again
        conn.execute(
            "INSERT INTO dialer.carrier_rings (call_id, campaign_id, part, phone, started_at) "
            "SELECT call_id, campaign_id, part, phone, started_at FROM dialer.carrier_rings"
        )

    faults = ring_faults(carrier_rings(pg_url), {(CAMPAIGN, ANN, 0)})

    assert faults == {(CAMPAIGN, ANN, 0): 2}


async def test_a_number_dialled_but_not_rung_and_one_rung_unasked_are_reported(
    carrier: SimulatedCarrier, pg_url: str
) -> None:
    await carrier.place_call(request_for(BOB))

    faults = ring_faults(carrier_rings(pg_url), {(CAMPAIGN, ANN, 0)})

    assert faults == {(CAMPAIGN, ANN, 0): 0, (CAMPAIGN, BOB, 0): 1}


def log_of(*calls: tuple[str, int, str]) -> CallLog:
    """The call log of CallCompleted events (phone, attempt, outcome) in part 0."""
    log = CallLog()
    for phone, attempt, outcome in calls:
        key = (CAMPAIGN, phone, 0)
        log.attempts.setdefault(key, Counter())[attempt] += 1
        if outcome != "stop_listed":
            log.dialled.add(key)
            log.dialled_calls.add(call_id_of(CAMPAIGN, 0, phone, attempt))
    return log


async def test_calls_rung_once_each_and_reported_once_pass_the_dial_check(
    carrier: SimulatedCarrier, pg_url: str
) -> None:
    await carrier.place_calls([request_for(ANN), request_for(BOB)])
    await carrier.place_call(request_for(BOB))  # placed again after a crash: rings nobody

    log = log_of((ANN, 1, "answered"), (BOB, 1, "no_answer"))

    assert dial_faults(log, carrier_call_rings(pg_url)) == {}
    assert carrier_repeat_requests(pg_url) == 1


async def test_every_kind_of_double_dial_is_reported(
    carrier: SimulatedCarrier, pg_url: str
) -> None:
    await carrier.place_calls([request_for(ANN), request_for(ANN, attempt=2), request_for(BOB)])
    with psycopg.connect(pg_url) as conn:  # BOB's call rung a second time
        conn.execute(
            "INSERT INTO dialer.carrier_rings (call_id, campaign_id, part, phone, started_at) "
            "SELECT call_id, campaign_id, part, phone, started_at FROM dialer.carrier_rings "
            "WHERE phone = %s",
            (BOB,),
        )
    carol = "+79160000002"
    # ANN: two attempts in the stream; BOB's one result reported twice; CAROL reported as
    # dialled but never rung.
    log = log_of(
        (ANN, 1, "answered"),
        (ANN, 2, "answered"),
        (BOB, 1, "no_answer"),
        (BOB, 1, "no_answer"),
        (carol, 1, "answered"),
    )
    log.dialled_calls.discard(call_id_of(CAMPAIGN, 0, ANN, 2))  # rung, not reported dialled

    faults = dial_faults(log, carrier_call_rings(pg_url))

    assert faults == {
        "numbers_over_attempts": [((CAMPAIGN, ANN, 0), [1, 2])],
        "attempts_reported_twice": [(((CAMPAIGN, BOB, 0), 1), 2)],
        "calls_rung_twice": [(call_id_of(CAMPAIGN, 0, BOB, 1), 2)],
        "rung_not_reported": [call_id_of(CAMPAIGN, 0, ANN, 2)],
        "reported_not_rung": [call_id_of(CAMPAIGN, 0, carol, 1)],
    }
