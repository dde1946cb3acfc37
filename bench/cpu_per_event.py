"""CPU per call event, per service: `python -m bench.cpu_per_event [--campaigns N]
[--numbers N]`. Prints one JSON object and writes bench/results/cpu_per_event.json.

The stack (tests/stack.py's, on a fresh PostgreSQL database and its own nats-server) gets
`campaigns` campaigns of `numbers` numbers each, accepted before the dialer starts; then
the dialer calls them at top speed (simulated carrier, the clock an hour a second). Once
the first `WARM_UP_EVENTS` call events are stored (the dialer has prepared its campaigns),
the CPU time (user + system, /proc/<pid>/stat) of every process is read: each service,
nats-server, and PostgreSQL's backends serving this database (by pid from
pg_stat_activity; a pooled connection lives through the run). It is read again once every
number is final in the stats read model and stats has applied every event. CPU per event is
the difference divided by the call events stored in between. PostgreSQL's share is split by
the service each backend serves: the process holding the backend's client port. A backend
that came or went between the reads is not counted (pools keep theirs)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psycopg

from bench.campaigns import campaign_body, create_campaigns, final_count, list_campaigns, wait_rows
from bench.common import RESULTS_DIR
from bench.stackrun import bench_stack, new_account, start_services, stats_behind
from tests.stack import Stack
from zvonar_contracts import subjects
from zvonar_runtime.jetstream import connect

WARM_UP_EVENTS = 2_000
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def local_ports(pid: int) -> set[int]:
    """The local TCP ports of a process's sockets (/proc/<pid>/fd and /proc/net/tcp*)."""
    inodes: set[str] = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    except OSError:
        return set()
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def backends(database_url: str, owners: dict[str, int]) -> dict[int, str]:
    """pid -> the instance (of `owners`, name -> pid) whose connection each backend of the
    stack's database serves, by the client's port; `other` when none of them holds it."""
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as c:
        rows = c.execute(
            "SELECT pid, client_port FROM pg_stat_activity WHERE datname = %s", (name,)
        ).fetchall()
    by_port = {port: owner for owner, pid in owners.items() for port in local_ports(pid)}
    return {int(pid): by_port.get(port or -1, "other") for pid, port in rows}


DB_COUNTERS = ("xact_commit", "tup_inserted", "tup_updated", "tup_deleted", "blks_read")
# Also read: the database's size on disk (`database_bytes`, pg_database_size).


def database_counters(database_url: str) -> dict[str, int]:
    """The stack database's own counters (pg_stat_database): commits, rows written."""
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as c:
        row = c.execute(
            f"SELECT {', '.join(DB_COUNTERS)}, pg_database_size(datname) "
            "FROM pg_stat_database WHERE datname = %s",
            (name,),
        ).fetchone()
    assert row is not None
    return dict(zip((*DB_COUNTERS, "database_bytes"), (int(v) for v in row), strict=True))


def snapshot(stack: Stack) -> dict[str, Any]:
    assert stack.database_url and stack.nats and stack.nats.process
    processes = {name: p.pid for name, p in stack.processes.items()}
    pg = backends(stack.database_url, processes)
    return {
        "at": time.monotonic(),
        "database": database_counters(stack.database_url),
        "services": {name: cpu_seconds(pid) for name, pid in processes.items()},
        "nats": cpu_seconds(stack.nats.process.pid),
        "postgres": {pid: (app, cpu_seconds(pid)) for pid, app in pg.items()},
    }


def postgres_by_service(before: dict[int, Any], after: dict[int, Any]) -> dict[str, float]:
    """Each backend's CPU over the run (those alive at both reads), by application."""
    spent: dict[str, float] = {}
    for pid, (owner, end) in after.items():
        if pid in before:
            spent[owner] = spent.get(owner, 0.0) + max(0.0, end - before[pid][1])
    return spent


async def stored_events(stack: Stack) -> int:
    return (await stream_sizes(stack))[subjects.CALL_EVENTS_STREAM][0]


async def stream_sizes(stack: Stack) -> dict[str, tuple[int, int]]:
    """(messages, bytes) of each event stream."""
    nc = await connect(stack.nats_url, "bench-cpu")
    try:
        js = nc.jetstream()
        sizes = {}
        for name in (subjects.CAMPAIGN_EVENTS_STREAM, subjects.CALL_EVENTS_STREAM):
            state = (await js.stream_info(name)).state
            sizes[name] = (int(state.messages), int(state.bytes))
        return sizes
    finally:
        await nc.close()


async def measure(stack: Stack, campaigns: int, numbers: int) -> dict[str, Any]:
    account_id, key = new_account(stack, "bench cpu")
    nc = await connect(stack.nats_url, "bench-cpu-driver")
    try:
        bodies = [campaign_body(i, numbers) for i in range(campaigns)]
        await create_campaigns(stack.base_url, key, bodies)
        await wait_rows(nc, account_id, campaigns, {"accepted"}, timeout=600)
        start_services(stack, ("dialer",))
        first_events = 0
        while first_events < WARM_UP_EVENTS:  # polled: the stream has no event to wait on
            await asyncio.sleep(0.05)
            first_events = await stored_events(stack)
        first = snapshot(stack)
        calls = campaigns * numbers
        while True:
            rows = await list_campaigns(nc, account_id)
            done = sum(final_count(r) for r in rows if r.parent_id is None)
            if done >= calls and await stats_behind(nc, stack) == 0:
                break
            await asyncio.sleep(1.0)
        last = snapshot(stack)
        sizes = await stream_sizes(stack)
        last_events = sizes[subjects.CALL_EVENTS_STREAM][0]
    finally:
        await nc.close()
    writes = {k: last["database"][k] - first["database"][k] for k in first["database"]}
    events = last_events - first_events
    seconds = last["at"] - first["at"]
    per_event: dict[str, float] = {}
    for name, end in last["services"].items():
        per_event[name] = (end - first["services"].get(name, 0.0)) / events * 1e6
    per_event["nats-server"] = (last["nats"] - first["nats"]) / events * 1e6
    for app, spent in postgres_by_service(first["postgres"], last["postgres"]).items():
        per_event[f"postgres ({app})"] = spent / events * 1e6
    return {
        "campaigns": campaigns,
        "numbers": numbers,
        "events_measured": events,
        "seconds": round(seconds, 1),
        "events_per_second": round(events / seconds, 1),
        "cpu_us_per_event": {k: round(v, 1) for k, v in sorted(per_event.items())},
        "cpu_us_per_event_total": round(sum(per_event.values()), 1),
        "postgres_per_event": {k: round(v / events, 2) for k, v in writes.items()},
        "stream_messages_bytes": sizes,
        "campaign_events_per_campaign": sizes[subjects.CAMPAIGN_EVENTS_STREAM][0] / campaigns,
        "call_event_bytes_stored": round(
            sizes[subjects.CALL_EVENTS_STREAM][1] / max(1, last_events), 1
        ),
        "nproc": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
    }


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=10)
    parser.add_argument("--numbers", type=int, default=3_000)
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.campaigns < 1 or args.campaigns * args.numbers <= 2 * WARM_UP_EVENTS:
        parser.error(f"at least one campaign and more than {2 * WARM_UP_EVENTS} calls")
    with bench_stack(("campaign", "moderation", "stats", "gateway")) as stack:
        result = asyncio.run(measure(stack, args.campaigns, args.numbers))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "cpu_per_event.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
