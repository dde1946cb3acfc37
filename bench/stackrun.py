"""The stack the end-to-end rows run against: tests/stack.py's `Stack` (its own
nats-server, the services as real processes) on a fresh PostgreSQL database, started a
service at a time so that a benchmark can hold one back (the dialer) until it is ready."""

from __future__ import annotations

import contextlib
import secrets
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from nats.aio.client import Client

from bench.common import postgres_database
from tests.stack import Stack, wait_for
from zvonar_contracts import subjects
from zvonar_devtools.natsserver import NatsServer, free_port
from zvonar_runtime.db import Database
from zvonar_stats.adapters.checkpoints import read_checkpoint
from zvonar_stats.adapters.schema import CALL_STREAM_KEY, CAMPAIGN_STREAM_KEY, active_tables

# The dialer's clock runs an hour a second: pacing at the top speed is then no limit.
TIME_SCALE = 3600.0
BENCH_ENV = {
    # The create row drives one key at concurrency 32: the per-key limit is not measured.
    "ZVONAR_RATE_LIMIT_PER_SECOND": "1000000",
    "ZVONAR_RATE_LIMIT_BURST": "1000000",
    "ZVONAR_LOG_LEVEL": "warning",
    "ZVONAR_COMMAND_TIMEOUT": "30",
    "ZVONAR_QUERY_TIMEOUT": "30",
}


def start_services(stack: Stack, services: tuple[str, ...]) -> None:
    """Start `services` and wait until each answers ready on its monitor port."""
    for service in services:
        stack.monitor_ports.setdefault(service, free_port())
        stack.start_service(service)
    for service in services:
        wait_for(lambda s=service: _ready(stack, s), 120, 0.2, f"{service} ready")  # type: ignore[misc]


def _ready(stack: Stack, service: str) -> bool:
    process = stack.processes[service]
    if process.poll() is not None:
        log = stack.log_path(service).read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{service} exited with {process.returncode}:\n{log}")
    try:
        url = f"http://127.0.0.1:{stack.monitor_ports[service]}/readyz"
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@contextlib.contextmanager
def bench_stack(services: tuple[str, ...]) -> Iterator[Stack]:
    """A stack on a fresh PostgreSQL database with `services` running; torn down after."""
    with postgres_database() as url, tempfile.TemporaryDirectory(prefix="zvonar-bench-") as tmp:
        root = Path(tmp)
        (root / "logs").mkdir()
        stack = Stack(root, database_url=url, time_scale=TIME_SCALE, extra_env=dict(BENCH_ENV))
        stack.admin_token = secrets.token_hex(16)
        stack.nats = NatsServer(root / "nats", log_file=root / "logs" / "nats.log")
        stack.nats.start()
        try:
            start_services(stack, services)
            yield stack
        finally:
            stack.stop()


def new_account(stack: Stack, name: str) -> tuple[str, str]:
    """(account id, API key) of a new account created over the admin API."""
    # A long timeout: the gateway's first account walks the time zone database on its event
    # loop, which took over 30 s with the shared machine at load 14.
    headers = {"Authorization": f"Bearer {stack.admin_token}"}
    with httpx.Client(base_url=stack.base_url, headers=headers, timeout=300) as admin:
        response = admin.post("/api/v1/accounts", json={"name": name, "timezone": "UTC"})
    if response.status_code != 201:
        raise RuntimeError(f"account not created: {response.status_code} {response.text}")
    body = response.json()
    return body["id"], body["api_key"]


def monotonic_deadline(seconds: float) -> float:
    return time.monotonic() + seconds


async def stats_behind(nc: Client, stack: Stack) -> int:
    """Messages of the two event streams the stack's stats service has not applied yet
    (its checkpoints, read from its tables, against the streams' last sequences)."""
    assert stack.database_url, "the bench stack runs on PostgreSQL"
    js = nc.jetstream()
    db = Database.from_settings(stack.database_url, Path("unused"), "stats", workers=1)
    try:
        applied = await db.run(
            lambda cur: {
                key: read_checkpoint(cur, active_tables(cur), key).seq
                for key in (CAMPAIGN_STREAM_KEY, CALL_STREAM_KEY)
            }
        )
    finally:
        await db.aclose()
    behind = 0
    for stream, key in (
        (subjects.CAMPAIGN_EVENTS_STREAM, CAMPAIGN_STREAM_KEY),
        (subjects.CALL_EVENTS_STREAM, CALL_STREAM_KEY),
    ):
        last = int((await js.stream_info(stream)).state.last_seq)
        behind += max(0, last - applied[key])
    return behind
