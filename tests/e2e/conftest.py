"""The running stack for end-to-end tests: every service on real NATS and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.stack import SecuredNats, Stack


# Package scope: the stack stops once the e2e tests are done, before the reliability tests
# start stacks of their own (PostgreSQL connections and the two cores are shared).
@pytest.fixture(scope="package")
def stack(
    tmp_path_factory: pytest.TempPathFactory, pg_database_factory: Callable[[], str]
) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("stack")
    # ZVONAR_TEST_NATS_AUTH=1: NATS on deploy/nats/nats.conf, each service as its own user
    # (the journeys then show whether its permissions let every flow through).
    secured = SecuredNats(root / "nats-auth") if os.environ.get("ZVONAR_TEST_NATS_AUTH") else None
    running = Stack(root=root, database_url=pg_database_factory(), secured=secured).start()
    yield running
    running.stop()
    output = Path(__file__).resolve().parents[2] / "test-output" / "e2e-logs"
    output.mkdir(parents=True, exist_ok=True)
    for log in (root / "logs").glob("*.log"):
        (output / log.name).write_bytes(log.read_bytes())
