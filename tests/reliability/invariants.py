"""The invariants the reliability suite holds Zvonar to, read straight from the streams:
every number has exactly one final result per part, no call id appears twice, and the
stats read model agrees with a recomputation (`zvonar-stats check`)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field

import nats.errors
import psycopg
from nats.js.api import DeliverPolicy

from tests.stack import Stack
from zvonar_contracts.call_events import CallCompleted
from zvonar_contracts.codec import decode_call_event
from zvonar_runtime.jetstream import connect


@dataclass
class CallLog:
    finals: Counter[tuple[int, int, str]] = field(default_factory=Counter)
    call_ids: Counter[str] = field(default_factory=Counter)
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
        env={**os.environ, **env}, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def numbers_rung_twice(stack: Stack) -> list[tuple[str, int]]:
    """From the dialer's own carrier record: (campaign-part-phone, rings) rung more than once
    — a call id ends in its attempt, so two ids for one number in one part are two rings."""
    assert stack.database_url, "the dialer's record is read from PostgreSQL"
    with psycopg.connect(stack.database_url) as conn:
        rows = conn.execute(
            "SELECT regexp_replace(call_id, '-[0-9]+$', '') AS number_part, count(*) "
            "FROM dialer.carrier_calls GROUP BY 1 HAVING count(*) > 1"
        ).fetchall()
    return [(str(key), int(count)) for key, count in rows]


def carrier_calls(stack: Stack) -> int:
    assert stack.database_url
    with psycopg.connect(stack.database_url) as conn:
        row = conn.execute("SELECT count(*) FROM dialer.carrier_calls").fetchone()
    return int(row[0]) if row else 0
