"""A 3-node JetStream cluster loses the leader of the call-events stream, then another node,
and PostgreSQL drops every connection of the services, all under load: the services recover
by themselves and the invariants hold."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import PG_ADMIN_URL
from tests.reliability.load import record, run_with_faults
from tests.stack import Stack, wait_for
from zvonar_runtime.jetstream import connect

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture
def cluster_stack(tmp_path: Path, pg_database_factory: Callable[[], str]) -> Iterator[Stack]:
    stack = Stack(
        root=tmp_path / "stack",
        database_url=pg_database_factory(),
        time_scale=3600,
        cluster_size=3,
    )
    stack.start()
    yield stack
    stack.stop()


async def _leader_of(url: str, stream: str) -> str:
    nc = await connect(url, "leader-probe")
    try:
        info = await nc.jetstream().stream_info(stream)
    finally:
        await nc.close()
    assert info.cluster is not None and info.cluster.leader
    return info.cluster.leader


@pytest.mark.faults
def test_losing_the_call_stream_leader_and_then_another_node(cluster_stack: Stack) -> None:
    cluster = cluster_stack.cluster
    assert cluster is not None

    def faults() -> dict[str, object]:
        time.sleep(2)
        leader = asyncio.run(_leader_of(cluster_stack.nats_url, "CALL_EVENTS"))
        first = cluster.node_named(leader)
        first.kill()
        time.sleep(4)
        first.start()
        time.sleep(3)
        second = next(node for node in cluster.nodes if node is not first)
        second.kill()
        time.sleep(4)
        second.start()
        return {"killed_nodes": [first.name, second.name], "first_was_leader": True}

    figures = run_with_faults(cluster_stack, campaigns=2, numbers=1500, speed=100, faults=faults)
    record("nats-cluster", figures)


def _terminate_backends(database: str) -> int:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    return len(rows)


def test_services_recover_when_postgres_drops_every_connection(
    tmp_path: Path, pg_database_factory: Callable[[], str]
) -> None:
    url = pg_database_factory()
    stack = Stack(root=tmp_path / "stack", database_url=url, time_scale=3600).start()
    database = url.rsplit("/", 1)[1]
    recovery: list[float] = []
    try:

        def faults() -> dict[str, object]:
            terminated = 0
            for _ in range(3):
                time.sleep(1.5)
                terminated += _terminate_backends(database)
                began = time.monotonic()
                wait_for(
                    lambda: stack.new_account("После обрыва") is not None,
                    30,
                    0.2,
                    "the gateway to serve writes again",
                )
                recovery.append(time.monotonic() - began)
            return {
                "connections_terminated": terminated,
                "seconds_to_recover": [round(r, 2) for r in recovery],
            }

        figures = run_with_faults(stack, campaigns=2, numbers=600, speed=60, faults=faults)
        record("postgres-terminate", figures)
    finally:
        stack.stop()
