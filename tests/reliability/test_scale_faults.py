"""More than one of each under the fault run (issue 17): a stack with several dialers, stats
instances, gateways and campaign relays on the 3-node JetStream cluster and PostgreSQL.
While campaigns call, every instance is SIGKILLed once (and started again after a moment)
and the leader of the call-events stream is killed once, in a random order. Requests go to
the gateways in turn. After quiet: nothing lost (every number's final result), nothing
counted twice (no call id twice, the stats check passes, counters add up) and nobody dialled
twice (one attempt per number, each call rung once; `invariants.dial_faults`).

The instance counts are parameters: `ZVONAR_SCALE_COUNTS="dialer=2,stats=2,gateway=2,
relay=2"` (the relay: `zvonar-campaign relay` processes; 0 runs the relay inside the
campaign process). The defaults, `COUNTS`, are what this branch can run.
`ZVONAR_FAULT_SEED` picks the order of the faults."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import httpx
import nats.errors
import pytest

from tests.reliability.load import record, run_with_faults
from tests.stack import RELAY, Stack, wait_for
from zvonar_contracts.subjects import CALL_EVENTS_STREAM, SERVICES
from zvonar_runtime.jetstream import connect

# One dialer until the dialers share campaigns by lease; stats instances take turns on one
# checkpoint; gateways and relays already run side by side. Raise to 2 each with the lease,
# the stats partitions, the shared gateway state and the standby relay.
COUNTS: Mapping[str, int] = {"dialer": 1, "stats": 2, "gateway": 2, RELAY: 2}
# How long a killed instance stays down, at most (seconds); a killed node stays down longer.
DOWN_SECONDS = 1.5
NODE_DOWN_SECONDS = 4.0


def parse_counts(text: str) -> dict[str, int]:
    """`dialer=2,stats=2` -> {"dialer": 2, "stats": 2}; a bad entry raises ValueError."""
    counts: dict[str, int] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = entry.partition("=")
        name = name.strip()
        if not sep or name not in (*SERVICES, RELAY) or not value.strip().isdigit():
            raise ValueError(f"ZVONAR_SCALE_COUNTS: not <service>=<count>: {entry!r}")
        counts[name] = int(value)
    if any(n < 1 for name, n in counts.items() if name != RELAY):
        raise ValueError(f"ZVONAR_SCALE_COUNTS: a service needs at least one instance: {text!r}")
    return counts


def scale_counts() -> dict[str, int]:
    return {**COUNTS, **parse_counts(os.environ.get("ZVONAR_SCALE_COUNTS", ""))}


def test_parse_counts_reads_every_service_and_refuses_bad_entries() -> None:
    assert parse_counts("dialer=2, stats=3,gateway=2,relay=0") == {
        "dialer": 2,
        "stats": 3,
        "gateway": 2,
        "relay": 0,
    }
    assert parse_counts("") == {}
    for bad in ("dialer", "dialer=two", "dialler=2", "stats=0", "dialer=-1"):
        with pytest.raises(ValueError, match="ZVONAR_SCALE_COUNTS"):
            parse_counts(bad)


@pytest.fixture
def scaled_stack(tmp_path: Path, pg_database_factory: Callable[[], str]) -> Iterator[Stack]:
    counts = scale_counts()
    relays = counts.pop(RELAY)
    stack = Stack(
        root=tmp_path / "stack",
        database_url=pg_database_factory(),
        time_scale=3600,
        cluster_size=3,
        instances=counts,
        relays=relays,
    )
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


async def _leader_of(url: str, stream: str) -> str | None:
    nc = await connect(url, "leader-probe")
    try:
        info = await nc.jetstream().stream_info(stream)
    finally:
        await nc.close()
    return info.cluster.leader if info.cluster is not None else None


def stream_leader(stack: Stack, stream: str) -> str:
    def probe() -> str | None:
        try:
            return asyncio.run(_leader_of(stack.nats_url, stream))
        except (TimeoutError, nats.errors.Error):
            return None

    return wait_for(probe, 30, 0.5, f"a leader of {stream}")


async def _messages_in(url: str, stream: str) -> int:
    nc = await connect(url, "stream-probe")
    try:
        return int((await nc.jetstream().stream_info(stream)).state.messages)
    finally:
        await nc.close()


def stream_messages(stack: Stack, stream: str) -> int:
    def probe() -> int | None:
        try:
            return asyncio.run(_messages_in(stack.nats_url, stream)) + 1
        except (TimeoutError, nats.errors.Error):
            return None

    return wait_for(probe, 30, 0.5, f"the size of {stream}") - 1


@contextlib.contextmanager
def reading_all_along(stack: Stack) -> Iterator[Counter[str]]:
    """While the block runs, an account lists its campaigns ten times a second through the
    gateways in turn; yields the counts by gateway port and answer (`8000 200`), or the
    error of a request that found its gateway down (`8000 ConnectError`)."""
    client = stack.new_account("Читатель")
    counts: Counter[str] = Counter()
    stop = threading.Event()

    def read() -> None:
        while not stop.wait(0.1):
            try:
                answer = client.get("/api/v1/campaigns")
            except httpx.TransportError as exc:
                counts[f"{exc.request.url.port} {type(exc).__name__}"] += 1
            else:
                counts[f"{answer.request.url.port} {answer.status_code}"] += 1

    reader = threading.Thread(target=read, name="reads-during-faults", daemon=True)
    reader.start()
    try:
        yield counts
    finally:
        stop.set()
        reader.join()
        client.close()


def kill_every_instance_and_the_leader(stack: Stack) -> Callable[[], dict[str, object]]:
    rng = random.Random(int(os.environ.get("ZVONAR_FAULT_SEED", "20261129")))
    cluster = stack.cluster
    assert cluster is not None

    def plan() -> dict[str, object]:
        with reading_all_along(stack) as reads:
            return {**faults(), "reads_during_the_faults": dict(reads)}

    def faults() -> dict[str, object]:
        order = [*stack.all_instances(), f"leader:{CALL_EVENTS_STREAM}"]
        rng.shuffle(order)
        killed_nodes: list[str] = []
        for target in order:
            time.sleep(rng.uniform(0.3, 1.0))
            if target.startswith("leader:"):
                node = cluster.node_named(stream_leader(stack, target.split(":", 1)[1]))
                node.kill()
                time.sleep(NODE_DOWN_SECONDS)
                node.start()
                killed_nodes.append(node.name or "")
            else:
                stack.kill(target)
                time.sleep(rng.uniform(0.0, DOWN_SECONDS))
                stack.start_service(target)
        return {
            "fault_order": order,
            "killed_leader_nodes": killed_nodes,
            # Fewer than every call: the calls went on after the last fault.
            "call_events_when_the_faults_ended": stream_messages(stack, CALL_EVENTS_STREAM),
        }

    return plan


@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.faults
def test_every_instance_killed_and_the_stream_leader_lost(scaled_stack: Stack) -> None:
    figures = run_with_faults(
        scaled_stack,
        campaigns=2,
        numbers=1500,
        speed=100,
        faults=kill_every_instance_and_the_leader(scaled_stack),
    )
    # Both gateways served the campaigns' requests.
    served = scaled_stack.spread_requests
    gateways = len(scaled_stack.gateway_urls)
    if gateways > 1:
        assert served and all(len(c) == gateways and min(c.values()) > 0 for c in served)
    # Reads were answered while instances died (some found their gateway down).
    reads = figures["reads_during_the_faults"]
    assert isinstance(reads, dict), reads
    for url in scaled_stack.gateway_urls:
        port = url.rsplit(":", 1)[1]
        assert reads.get(f"{port} 200", 0) > 0, reads
    instances = {s: len(scaled_stack.instance_names(s)) for s in (*SERVICES, RELAY)}
    record(
        "scale-faults",
        {
            "instances": instances,
            "requests_per_gateway": [dict(c) for c in served],
            **figures,
        },
    )
