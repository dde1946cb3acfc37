"""Fixtures shared by the whole suite: a real nats-server per test session (random port,
temporary store) and fresh PostgreSQL databases on the server at ZVONAR_TEST_PG.

Under CI=true a missing PostgreSQL fails the tests that need it; elsewhere they skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from zvonar_devtools.natsserver import NatsServer
from zvonar_runtime.jetstream import connect, ensure_jetstream

if TYPE_CHECKING:
    import psycopg

PG_ADMIN_URL = os.environ.get("ZVONAR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    store = tmp_path_factory.mktemp("nats")
    with NatsServer(store, log_file=store / "nats.log") as server:
        yield server


@pytest.fixture(scope="session")
def nats_url(nats_server: NatsServer) -> str:
    return nats_server.url


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[object]:
    """A plain nats-py client on the session's server, streams and buckets in place."""
    client = await connect(nats_url, "zvonar-test")
    await ensure_jetstream(client.jetstream())
    yield client
    await client.close()


def _pg_admin_connection() -> psycopg.Connection[tuple[Any, ...]]:
    import psycopg

    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def _with_database(url: str, database: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{database}"


@pytest.fixture(scope="session")
def pg_database_factory() -> Iterator[Callable[[], str]]:
    """Creates fresh databases on demand; every one is dropped at the end of the session."""
    created: list[str] = []
    admin = None

    def create() -> str:
        nonlocal admin
        if admin is None:
            admin = _pg_admin_connection()
        name = f"zvonar_test_{uuid.uuid4().hex[:12]}"
        admin.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return _with_database(PG_ADMIN_URL, name)

    yield create
    if admin is not None:
        for name in created:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def pg_url(pg_database_factory: Callable[[], str]) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return pg_database_factory()


@pytest.fixture
def output_dir(request: pytest.FixtureRequest) -> Path:
    """Where a test leaves artefacts (screenshots, logs): test-output/<test name>/."""
    root = Path(__file__).resolve().parent.parent / "test-output"
    name: str = request.node.name
    path = root / name.replace("/", "_")
    path.mkdir(parents=True, exist_ok=True)
    return path


_NEEDS_SERVERS = {"nats_server", "nats_url", "nc", "pg_database_factory", "stack"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The folder says what a test needs: tests/integration and tests/e2e are marked so
    (`-m "not integration"` runs without servers), and a test under tests/unit that asks for
    a server is a mistake, refused at collection."""
    tests = Path(__file__).resolve().parent
    for item in items:
        parts = item.path.resolve().relative_to(tests).parts
        if parts[0] in ("integration", "e2e"):
            item.add_marker(parts[0])
        elif parts[0] == "unit":
            wanted = _NEEDS_SERVERS & set(getattr(item, "fixturenames", ()))
            if wanted:
                raise pytest.UsageError(
                    f"{item.nodeid} is a unit test but uses {sorted(wanted)}: move it to "
                    "tests/integration"
                )
