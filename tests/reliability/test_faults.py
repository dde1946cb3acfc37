"""Fault injection under load: the whole stack on PostgreSQL with the dialer's clock racing,
several campaigns running, and services SIGKILLed at random moments and restarted. After
quiet: every number has exactly one final result per part, no call id is in the stream
twice, and counters and cost equal their recomputation from the streams.

`make test` runs a short version (few kills); `make test-faults` the long one."""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import create, get
from tests.reliability.invariants import call_log, stats_check
from tests.stack import Stack, wait_for
from zvonar_contracts.subjects import SERVICES

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
RESULTS = Path(__file__).resolve().parents[2] / "test-output" / "reliability"


@pytest.fixture
def fault_stack(tmp_path: Path, pg_database_factory: Callable[[], str]) -> Iterator[Stack]:
    stack = Stack(root=tmp_path / "stack", database_url=pg_database_factory(), time_scale=3600)
    stack.start()
    yield stack
    stack.stop()


def _run_under_faults(
    stack: Stack, *, campaigns: int, numbers: int, kills: int, speed: int
) -> dict[str, object]:
    rng = random.Random(int(os.environ.get("ZVONAR_FAULT_SEED", "20261126")))
    client = stack.new_account("Надёжность")
    ids: list[int] = []
    expected_finals: set[tuple[int, int, str]] = set()
    for c in range(campaigns):
        phones = [f"+7916{c:02d}{n:05d}" for n in range(numbers)]
        campaign = create(client, name=f"Нагрузка {c}", phones=phones, speed=speed)
        ids.append(campaign["id"])
        expected_finals |= {(campaign["id"], 0, phone) for phone in phones}
    killed: list[str] = []
    started = time.monotonic()
    for _ in range(kills):
        time.sleep(rng.uniform(0.2, 1.5))
        service = rng.choice(SERVICES)
        stack.restart(service)
        killed.append(service)
    stack.wait_healthy()

    def all_finished() -> bool:
        return all(get(client, cid)["status"] == "finished" for cid in ids)

    wait_for(all_finished, 600, 1.0, "every campaign to finish after the faults")
    elapsed = time.monotonic() - started
    log = wait_for(
        lambda: (lg := call_log(stack)) and set(lg.finals) >= expected_finals and lg, 120, 1.0,
        "every number's final result in the call stream",
    )  # fmt: skip
    duplicated_calls = [cid for cid, n in log.call_ids.items() if n > 1]
    doubled_finals = [key for key, n in log.finals.items() if n > 1]
    assert not duplicated_calls, duplicated_calls[:10]
    assert not doubled_finals, doubled_finals[:10]
    assert set(log.finals) == expected_finals

    def consistent() -> bool:
        return stats_check(stack).returncode == 0

    wait_for(consistent, 60, 1.0, "the stats consistency check to pass")
    for cid in ids:
        size = get(client, cid)["size"]
        assert size["total"] == numbers
        assert size["in_progress"] == 0
        assert size["total"] == size["stop_listed"] + size["answered"] + size["not_answered"]
    return {
        "campaigns": campaigns,
        "speed_calls_per_real_second": speed * stack.time_scale / 3600,
        "numbers_per_campaign": numbers,
        "kills": len(killed),
        "kills_per_service": {s: killed.count(s) for s in SERVICES},
        "call_events": log.events,
        "seconds_to_quiet": round(elapsed, 1),
    }


def _record(name: str, figures: dict[str, object]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False))


def test_short_fault_run_loses_nothing_and_counts_nothing_twice(fault_stack: Stack) -> None:
    figures = _run_under_faults(fault_stack, campaigns=2, numbers=500, kills=5, speed=60)
    _record("faults-short", figures)


@pytest.mark.faults
def test_long_fault_run_with_kills_of_every_service(fault_stack: Stack) -> None:
    figures = _run_under_faults(fault_stack, campaigns=4, numbers=3000, kills=24, speed=150)
    assert all(n > 0 for n in figures["kills_per_service"].values())  # type: ignore[attr-defined]
    _record("faults-long", figures)
