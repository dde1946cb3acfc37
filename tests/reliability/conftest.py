"""One running stack per module for the bad-input, isolation and fuzz tests: every service
on real NATS and a fresh PostgreSQL database of its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.stack import Stack


@pytest.fixture(scope="module")
def api_stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    pg_database_factory: Callable[[], str],
) -> Iterator[Stack]:
    database_url = pg_database_factory()
    running = Stack(root=tmp_path_factory.mktemp("api-stack"), database_url=database_url)
    # Fuzzing sends hundreds of requests a second under one key: the rate limit is not
    # what these tests are about. Nor is the limit on failed sign-ins per client address:
    # the fuzzer sends wrong admin tokens and keys by design, from the address the tests'
    # own admin client creates accounts from (the limit is tested in tests/integration/web).
    running.extra_env.update(
        ZVONAR_RATE_LIMIT_PER_SECOND="100000",
        ZVONAR_RATE_LIMIT_BURST="100000",
        ZVONAR_AUTH_FAILURES_PER_MINUTE="100000",
    )
    running.database_url = database_url
    running.start()
    yield running
    running.stop()
    output = Path(__file__).resolve().parents[2] / "test-output" / "reliability" / "logs"
    output = output / request.module.__name__.rsplit(".", 1)[-1]
    output.mkdir(parents=True, exist_ok=True)
    for log in (running.root / "logs").glob("*.log"):
        (output / log.name).write_bytes(log.read_bytes())
