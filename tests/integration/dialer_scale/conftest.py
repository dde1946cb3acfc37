"""Several dialers on one database: the campaign-service double of the dialer's harness,
and a nats-server per test module, so that the lease bucket is made with the module's own
(short) lease time — the bucket's age limit is every dialer's lease time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zvonar_devtools.natsserver import NatsServer

from ..dialer.conftest import double

__all__ = ["double", "nats_url"]


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = tmp_path_factory.mktemp("nats-leases")
    with NatsServer(store, log_file=store / "nats.log") as server:
        yield server.url
