"""Load with faults: create campaigns, run a fault plan while they call, wait for quiet,
then hold the stack to the invariants. Shared by the fault, cluster and PostgreSQL tests."""

from __future__ import annotations

import functools
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.e2e.helpers import create, get
from tests.reliability.invariants import (
    CallLog,
    call_log,
    carrier_call_rings,
    carrier_repeat_requests,
    carrier_rings,
    dial_faults,
    ring_faults,
    stats_check,
)
from tests.stack import Stack, wait_for

RESULTS = Path(__file__).resolve().parents[2] / "test-output" / "reliability"


def run_with_faults(
    stack: Stack,
    *,
    campaigns: int,
    numbers: int,
    speed: int,
    faults: Callable[[], dict[str, object]],
) -> dict[str, object]:
    """`faults` runs while the campaigns call and returns what it did (for the figures)."""
    client = stack.new_account("Надёжность")
    ids: list[int] = []
    expected_finals: set[tuple[int, int, str]] = set()
    for c in range(campaigns):
        phones = [f"+7916{c:02d}{n:05d}" for n in range(numbers)]
        campaign = create(client, name=f"Нагрузка {c}", phones=phones, speed=speed)
        ids.append(campaign["id"])
        expected_finals |= {(campaign["id"], 0, phone) for phone in phones}
    started = time.monotonic()
    done_faults = faults()
    stack.wait_healthy()

    def all_finished() -> bool:
        return all(get(client, cid)["status"] == "finished" for cid in ids)

    wait_for(all_finished, 600, 1.0, "every campaign to finish after the faults")
    quiet_after = time.monotonic() - started

    def complete_log() -> CallLog | None:
        found = call_log(stack)
        return found if found and set(found.finals) >= expected_finals else None

    log = wait_for(
        complete_log,
        120,
        1.0,
        "every number's final result in the call stream",
    )
    duplicated_calls = [cid for cid, n in log.call_ids.items() if n > 1]
    doubled_finals = [key for key, n in log.finals.items() if n > 1]
    assert not duplicated_calls, duplicated_calls[:10]
    assert not doubled_finals, doubled_finals[:10]
    assert set(log.finals) == expected_finals
    # The carrier's own record of rings agrees: each number dialled in a part was rung
    # exactly once in it, and nobody else was rung.
    assert stack.database_url, "the carrier's record is read from PostgreSQL"
    rings = carrier_rings(stack.database_url)
    misrung = ring_faults(rings, log.dialled)
    assert not misrung, list(misrung.items())[:10]
    rung = sum(rings.values())
    # Nobody dialled twice, call by call: one attempt per number, one result per attempt,
    # each call id rung once and reported as dialled, and the other way round.
    twice = dial_faults(log, carrier_call_rings(stack.database_url))
    assert not twice, twice
    repeats = carrier_repeat_requests(stack.database_url)
    checks: list[subprocess.CompletedProcess[str]] = []

    def check_passes() -> subprocess.CompletedProcess[str] | None:
        checks.append(stats_check(stack))
        return checks[-1] if checks[-1].returncode == 0 else None

    try:
        wait_for(check_passes, 60, 1.0, "the stats consistency check to pass")
    except AssertionError as exc:
        last = checks[-1]
        sizes = {cid: get(client, cid)["size"] for cid in ids}
        raise AssertionError(
            f"{exc}\n--- sizes: {sizes}\n--- check stdout:\n{last.stdout[-3000:]}"
            f"\n--- check stderr:\n{last.stderr[-3000:]}"
        ) from None

    def settled(cid: int) -> dict[str, int] | None:
        size: dict[str, int] = get(client, cid)["size"]
        return size if size["in_progress"] == 0 else None

    for cid in ids:
        size = wait_for(
            functools.partial(settled, cid), 60, 0.5, f"campaign {cid}'s counters to settle"
        )
        assert size["total"] == numbers
        assert size["total"] == size["stop_listed"] + size["answered"] + size["not_answered"]
    return {
        "campaigns": campaigns,
        "numbers_per_campaign": numbers,
        "calls_per_real_second_per_campaign": speed * stack.time_scale / 3600,
        "call_events": log.events,
        "carrier_rings": rung,
        "carrier_repeat_requests": repeats,
        "seconds_to_quiet": round(quiet_after, 1),
        **done_faults,
    }


def record(name: str, figures: dict[str, object]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False))
