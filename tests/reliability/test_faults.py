"""Fault injection under load: the whole stack on PostgreSQL with the dialer's clock racing,
several campaigns running, and services SIGKILLed at random moments and restarted. After
quiet: every number has exactly one final result per part, no call id is in the stream
twice, and counters and cost equal their recomputation from the streams.

`make test` runs a short version (few kills); `make test-faults` the long one."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.reliability.load import record, run_with_faults
from tests.stack import Stack
from zvonar_contracts.subjects import SERVICES

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture
def fault_stack(tmp_path: Path, pg_database_factory: Callable[[], str]) -> Iterator[Stack]:
    stack = Stack(root=tmp_path / "stack", database_url=pg_database_factory(), time_scale=3600)
    stack.start()
    yield stack
    stack.stop()


def kill_randomly(
    stack: Stack, kills: int, services: tuple[str, ...] = SERVICES
) -> Callable[[], dict[str, object]]:
    rng = random.Random(int(os.environ.get("ZVONAR_FAULT_SEED", "20261126")))

    def plan() -> dict[str, object]:
        order = list(services) * (kills // len(services)) + [
            rng.choice(services) for _ in range(kills % len(services))
        ]
        rng.shuffle(order)
        for service in order:
            time.sleep(rng.uniform(0.2, 1.2))
            stack.restart(service)
        return {"kills": len(order), "kills_per_service": {s: order.count(s) for s in services}}

    return plan


def test_short_fault_run_loses_nothing_and_counts_nothing_twice(fault_stack: Stack) -> None:
    figures = run_with_faults(
        fault_stack, campaigns=2, numbers=500, speed=60, faults=kill_randomly(fault_stack, 5)
    )
    record("faults-short", figures)


@pytest.mark.faults
def test_long_fault_run_with_kills_of_every_service(fault_stack: Stack) -> None:
    figures = run_with_faults(
        fault_stack, campaigns=4, numbers=3000, speed=150, faults=kill_randomly(fault_stack, 25)
    )
    assert all(n > 0 for n in figures["kills_per_service"].values())  # type: ignore[attr-defined]
    record("faults-long", figures)
