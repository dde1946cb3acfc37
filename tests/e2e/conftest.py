"""The running stack for end-to-end tests: every service on real NATS and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.stack import Stack


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory, pg_database_factory: Callable[[], str]
) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("stack")
    running = Stack(root=root, database_url=pg_database_factory()).start()
    yield running
    running.stop()
    output = Path(__file__).resolve().parents[2] / "test-output" / "e2e-logs"
    output.mkdir(parents=True, exist_ok=True)
    for log in (root / "logs").glob("*.log"):
        (output / log.name).write_bytes(log.read_bytes())
