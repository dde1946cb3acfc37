"""The invariants the reliability suite holds Zvonar to, read straight from the streams:
every number has exactly one final result per part, no call id appears twice, and the
stats read model agrees with a recomputation (`zvonar-stats check`)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field

import nats.errors
import psycopg
from nats.js.api import DeliverPolicy

from tests.stack import Stack
from zvonar_contracts.call_events import CallCompleted
from zvonar_contracts.codec import decode_call_event
from zvonar_runtime.jetstream import connect

# (campaign, number, part): what the carrier's record of rings is counted by.
RingKey = tuple[int, str, int]


@dataclass
class CallLog:
    finals: Counter[tuple[int, int, str]] = field(default_factory=Counter)
    call_ids: Counter[str] = field(default_factory=Counter)
    # Each (campaign, number, part) whose call event says it was dialled (not stop-listed).
    dialled: set[RingKey] = field(default_factory=set)
    # The call ids the stream says were dialled, and every attempt on each number.
    dialled_calls: set[str] = field(default_factory=set)
    attempts: dict[RingKey, Counter[int]] = field(default_factory=dict)
    events: int = 0


async def read_call_log(nats_url: str) -> CallLog:
    nc = await connect(nats_url, "reliability-reader")
    log = CallLog()
    try:
        js = nc.jetstream()
        info = await js.stream_info("CALL_EVENTS")
        last = info.state.last_seq
        if not info.state.messages:
            return log
        sub = await js.subscribe(
            "call.events.>", ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
        )
        async for msg in sub.messages:
            event = decode_call_event(msg.data)
            if isinstance(event, CallCompleted):
                log.events += 1
                log.call_ids[event.call_id] += 1
                if event.final:
                    log.finals[(event.campaign_id, event.part, event.phone)] += 1
                key = (event.campaign_id, event.phone, event.part)
                log.attempts.setdefault(key, Counter())[event.attempt] += 1
                if event.outcome != "stop_listed":
                    log.dialled.add(key)
                    log.dialled_calls.add(event.call_id)
            if msg.metadata.sequence.stream >= last:
                break
        await sub.unsubscribe()
    finally:
        await nc.close()
    return log


def call_log(stack: Stack) -> CallLog | None:
    """The call log, or None while the cluster cannot answer yet (a node just restarted)."""
    try:
        return asyncio.run(read_call_log(stack.nats_url))
    except (TimeoutError, nats.errors.Error):
        return None


def stats_check(stack: Stack) -> subprocess.CompletedProcess[str]:
    """Run the stats consistency check against the stack's streams and database."""
    env = stack.env("stats")
    env.pop("ZVONAR_MONITOR_PORT", None)
    return subprocess.run(
        [sys.executable, "-m", "zvonar_stats", "check"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def carrier_rings(database_url: str) -> Counter[RingKey]:
    """How often the simulated carrier rang each (campaign, number, part), counted from its
    own record of rings (`dialer.carrier_rings`: a row per ring, the call id not unique)."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT campaign_id, phone, part, count(*) FROM dialer.carrier_rings "
            "GROUP BY campaign_id, phone, part"
        ).fetchall()
    return Counter({(int(c), str(phone), int(part)): int(n) for c, phone, part, n in rows})


def ring_faults(rings: Counter[RingKey], dialled: Collection[RingKey]) -> dict[RingKey, int]:
    """Every (campaign, number, part) the carrier did not ring exactly as often as it should
    have — once if it is in `dialled`, never otherwise — with how often it did. Empty when
    nobody was rung twice, nobody dialled went unrung and nobody else was rung."""
    keys = sorted(set(rings) | set(dialled))
    return {key: rings[key] for key in keys if rings[key] != (1 if key in dialled else 0)}


def carrier_call_rings(database_url: str) -> Counter[str]:
    """How often the simulated carrier rang each call id (its `carrier_rings` rows)."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT call_id, count(*) FROM dialer.carrier_rings GROUP BY call_id"
        ).fetchall()
    return Counter({str(call_id): int(n) for call_id, n in rows})


def carrier_repeat_requests(database_url: str) -> int:
    """Requests for a call id the carrier had already seen (a dialer placing the same call
    again after a crash): answered from its record, nobody rung again."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(requests - 1), 0) FROM dialer.carrier_calls"
        ).fetchone()
    return int(row[0]) if row else 0


def dial_faults(
    log: CallLog, call_rings: Counter[str], allowed_attempts: int = 1
) -> dict[str, object]:
    """Everything that says somebody was dialled twice, by kind (empty when nobody was):
    - `numbers_over_attempts`: a (campaign, number, part) with more attempts in the call
      stream than its retries allow (no campaign retries today: one attempt);
    - `attempts_reported_twice`: one attempt of one number with two results in the stream;
    - `calls_rung_twice`: a call id the carrier rang more than once;
    - `rung_not_reported` / `reported_not_rung`: a call id rung that the stream does not
      report as dialled, or reported as dialled that nobody rang."""
    found: dict[str, object] = {}
    over = {k: sorted(a) for k, a in log.attempts.items() if len(a) > allowed_attempts}
    twice = {(k, a): n for k, c in log.attempts.items() for a, n in c.items() if n > 1}
    rung_twice = {cid: n for cid, n in call_rings.items() if n > 1}
    unreported = sorted(set(call_rings) - log.dialled_calls)
    unrung = sorted(log.dialled_calls - set(call_rings))
    for name, value in (
        ("numbers_over_attempts", over),
        ("attempts_reported_twice", twice),
        ("calls_rung_twice", rung_twice),
        ("rung_not_reported", unreported),
        ("reported_not_rung", unrung),
    ):
        if value:
            found[name] = list(value.items())[:10] if isinstance(value, dict) else value[:10]
    return found
