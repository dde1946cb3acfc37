"""More than one of each under the fault run (issue 17): a stack with several dialers, stats
instances, gateways and campaign relays on the 3-node JetStream cluster and PostgreSQL.
While campaigns call, every instance is SIGKILLed once (and started again after a moment;
where a second instance can take over by lease — dialers, relays — the first one killed
stays down longer than the lease lives) and the leader of the call-events stream is killed
once, in a random order. Requests go to
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
import http.server
import json
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

from tests.e2e.helpers import create
from tests.reliability.load import record, run_with_faults
from tests.stack import RELAY, AlternatingTransport, SecuredNats, Stack, wait_for
from zvonar_contracts.subjects import CALL_EVENTS_STREAM, POSITION_HEADER, SERVICES
from zvonar_devtools.natsserver import NatsServer
from zvonar_runtime.jetstream import connect

# Two of each: the dialers share the campaigns by lease, stats instances take turns on one
# checkpoint, gateways share their state, a standby relay takes over the active one's lease.
COUNTS: Mapping[str, int] = {"dialer": 2, "stats": 2, "gateway": 2, RELAY: 2}
# How long a killed instance stays down, at most (seconds); a killed node stays down longer.
DOWN_SECONDS = 1.5
NODE_DOWN_SECONDS = 4.0
# Where another instance takes over a dead one's work by lease, the first instance killed
# stays down longer than the lease lives (the dialers' 10 s, the relay's 3 s), so that the
# takeover happens; the other faults go on meanwhile.
TAKEOVER_DOWN_SECONDS: Mapping[str, float] = {"dialer": 15.0, RELAY: 6.0}


# Two campaigns call at this pace (per real second, each) for at least 40 s: longer than
# the faults take (~20 s), however fast the machine.
CALLS_PER_CAMPAIGN = 2000
CALLS_PER_SECOND = 50


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


def test_each_instance_has_its_own_name_id_ports_and_login(tmp_path: Path) -> None:
    stack = Stack(
        root=tmp_path,
        instances={"dialer": 2, "gateway": 2},
        relays=2,
        secured=SecuredNats(tmp_path / "nats"),
    )
    stack.nats = NatsServer(tmp_path / "nats")  # not started: only its URL is read
    assert stack.all_instances() == [
        *("campaign", "moderation", "dialer", "dialer-2", "stats", "gateway", "gateway-2"),
        *("relay", "relay-2"),
    ]
    stack.monitor_ports = {name: 9000 + i for i, name in enumerate(stack.all_instances())}
    stack.http_ports = {"gateway": stack.http_port, "gateway-2": 8002}
    second, relay = stack.env("dialer-2"), stack.env("relay-2")
    assert second["DIALER_INSTANCE_ID"] == second["ZVONAR_INSTANCE"] == "dialer-2"
    assert second["ZVONAR_MONITOR_PORT"] == "9003" and second["NATS_USER"] == "dialer"
    assert relay["CAMPAIGN_RELAY_INSTANCE_ID"] == "relay-2" and relay["NATS_USER"] == "campaign"
    assert stack.env("campaign")["CAMPAIGN_RELAY"] == "0"  # the relays run on their own
    assert stack.env("gateway-2")["ZVONAR_HTTP_PORT"] == "8002"
    assert stack.env("gateway-2")["GATEWAY_INSTANCE_ID"] == "gateway-2"
    # A service of one instance keeps its default id (`<service>-<pid>`).
    assert "ZVONAR_INSTANCE" not in stack.env("stats")
    assert "STATS_INSTANCE_ID" not in stack.env("stats")
    for bad in ({"dialler": 2}, {"stats": 0}):
        with pytest.raises(ValueError, match="bad instance counts"):
            Stack(root=tmp_path, instances=bad)


class _Gateway(http.server.BaseHTTPRequestHandler):
    """A stand-in gateway: answers with its port and the position it was sent; a POST
    answers with a new position, as a write does."""

    def _port(self) -> int:
        return int(self.headers["Host"].rsplit(":", 1)[1])

    def _answer(self, position: str | None) -> None:
        body = json.dumps({"port": self._port(), "got": self.headers.get(POSITION_HEADER)})
        self.send_response(200)
        if position:
            self.send_header(POSITION_HEADER, position)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def do_GET(self) -> None:
        self._answer(None)

    def do_POST(self) -> None:
        self._answer(f"{self._port()}.mac")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def test_requests_go_to_each_gateway_in_turn_with_the_last_position() -> None:
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Gateway) for _ in range(2)]
    threads = [threading.Thread(target=server.serve_forever, daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    ports = [server.server_port for server in servers]
    transport = AlternatingTransport([f"http://127.0.0.1:{port}" for port in ports])
    try:
        with httpx.Client(base_url="http://gateway.invalid", transport=transport) as client:
            answers = [
                client.get("/a").json(),
                client.post("/write").json(),  # the second gateway gives a position
                client.get("/b").json(),
                client.get("/c", headers={POSITION_HEADER: "own"}).json(),
            ]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    assert [a["port"] for a in answers] == [ports[0], ports[1], ports[0], ports[1]]
    assert [a["got"] for a in answers] == [None, None, f"{ports[1]}.mac", "own"]
    assert transport.sent == {f"http://127.0.0.1:{port}": 2 for port in ports}
    with pytest.raises(ValueError, match="no base URL"):
        AlternatingTransport([])


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
        # Instances left down past their lease, each restarted by a timer of its own.
        takeovers = {
            stack.instance_names(service)[0]: seconds
            for service, seconds in TAKEOVER_DOWN_SECONDS.items()
            if len(stack.instance_names(service)) > 1
        }
        timers: list[threading.Timer] = []
        wait_for(
            lambda: stream_messages(stack, CALL_EVENTS_STREAM) > 0,
            120,
            0.2,
            "the first call event (the faults begin while the campaigns call)",
        )
        for target in order:
            time.sleep(rng.uniform(0.3, 1.0))
            if target.startswith("leader:"):
                node = cluster.node_named(stream_leader(stack, target.split(":", 1)[1]))
                node.kill()
                time.sleep(NODE_DOWN_SECONDS)
                node.start()
                killed_nodes.append(node.name or "")
            elif target in takeovers:
                stack.kill(target)
                timers.append(
                    threading.Timer(takeovers[target], stack.start_service, args=(target,))
                )
                timers[-1].start()
            else:
                stack.kill(target)
                time.sleep(rng.uniform(0.0, DOWN_SECONDS))
                stack.start_service(target)
        for timer in timers:
            timer.join()
        return {
            "fault_order": order,
            "killed_leader_nodes": killed_nodes,
            "down_past_the_lease_seconds": takeovers,
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
        numbers=CALLS_PER_CAMPAIGN,
        speed=CALLS_PER_SECOND,
        faults=kill_every_instance_and_the_leader(scaled_stack),
    )
    # The campaigns outlasted the faults: every fault hit a stack that was calling.
    made_by_then = figures["call_events_when_the_faults_ended"]
    assert isinstance(made_by_then, int) and made_by_then < 2 * CALLS_PER_CAMPAIGN, figures
    # Both gateways served the campaigns' requests.
    served = [transport.sent for transport in scaled_stack.transports]
    gateways = len(scaled_stack.gateway_urls)
    if gateways > 1:
        assert served and all(len(c) == gateways and min(c.values()) > 0 for c in served)
    # Reads were answered while instances died (some found their gateway down).
    reads = figures["reads_during_the_faults"]
    assert isinstance(reads, dict), reads
    for url in scaled_stack.gateway_urls:
        port = url.rsplit(":", 1)[1]
        assert reads.get(f"{port} 200", 0) > 0, reads
    own_write = read_your_write_elsewhere(scaled_stack) if gateways > 1 else {}
    if own_write.get("position_given"):  # a gateway that hands the position to its client
        assert own_write["read_at_once"] == 200, own_write
    instances = {s: len(scaled_stack.instance_names(s)) for s in (*SERVICES, RELAY)}
    record(
        "scale-faults",
        {
            "instances": instances,
            "requests_per_gateway": [dict(c) for c in served],
            "read_your_write_through_the_other_gateway": own_write,
            **figures,
        },
    )


def read_your_write_elsewhere(stack: Stack) -> dict[str, object]:
    """A campaign created through one gateway and read at once through the next: whether
    the create's answer gave a read-your-writes position (`Zvonar-Position`, which the
    client sends back), and the read's status (200 when the other gateway waited for the
    write; 404 when it did not know of it yet)."""
    client = stack.new_account("Своя запись")
    transport = stack.transports[-1]
    try:
        created = create(client, name="Своя запись", phones=["+79160000001"], speed=60)
        answer = client.get(f"/api/v1/campaigns/{created['id']}")
    finally:
        client.close()
    return {
        "position_given": transport.position is not None,
        "read_at_once": answer.status_code,
        "gateways_in_turn": dict(transport.sent),
    }
