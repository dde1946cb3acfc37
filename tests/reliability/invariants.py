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
                if event.outcome != "stop_listed":
                    log.dialled.add((event.campaign_id, event.phone, event.part))
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
