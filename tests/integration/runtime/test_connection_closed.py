"""A service whose NATS connection the server closed ends with status 1 (nats-py never
reopens such a connection, so staying up would leave it deaf), for its supervisor to start
it again; the runner does that in tests/integration/devtools/test_runner.py."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from zvonar_runtime.health import wait_ready
from zvonar_runtime.jetstream import connect

pytestmark = pytest.mark.integration

# A service on serve() that, asked to, sends a message over the server's max_payload: the
# payload alone fits (nats-py checks only that), its header does not, and nats-server
# closes the connection on the protocol violation.
SERVICE = """
import asyncio
from zvonar_runtime.service import Resources, serve
from zvonar_runtime.settings import ServiceSettings

async def setup(broker):
    @broker.subscriber("probe.oversize")
    async def oversize(body: str) -> None:
        nc = broker.connection
        await nc.publish("probe.sink", b"x" * nc.max_payload, headers={"Pad": "y" * 64})
        await nc.flush()

    return Resources()

asyncio.run(serve(ServiceSettings.from_env(service="probe"), setup))
"""


def test_a_service_exits_non_zero_when_the_server_closes_its_connection(nats_url: str) -> None:
    env = dict(os.environ, NATS_URL=nats_url, ZVONAR_LOG_FORMAT="json")
    process = subprocess.Popen(
        [sys.executable, "-c", SERVICE],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        async def provoke() -> None:
            nc = await connect(nats_url, "closed-test")
            try:
                await wait_ready(nc, ["probe"], timeout=60)
                await nc.publish("probe.oversize", b'"go"')
                await nc.flush()
            finally:
                await nc.close()

        asyncio.run(provoke())
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 1, output
    assert '"event": "nats_connection_closed"' in output, output
    assert "maximum payload" in output.lower(), output
