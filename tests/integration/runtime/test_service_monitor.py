"""A service process built on `serve()` answers liveness, readiness and metrics over HTTP
on its monitor port, health over NATS, and drains cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from zvonar_devtools.natsserver import free_port
from zvonar_runtime.health import ask_health
from zvonar_runtime.jetstream import connect

pytestmark = pytest.mark.integration

SERVICE = """
import asyncio
from zvonar_runtime.service import Resources, serve
from zvonar_runtime.settings import ServiceSettings

async def setup(broker):
    @broker.subscriber("probe.echo")
    async def echo(body: str) -> str:
        return body.upper()
    return Resources()

asyncio.run(serve(ServiceSettings.from_env(service="probe"), setup))
"""


def _wait_http(url: str, timeout: float = 20.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=1.0)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_monitor_port_serves_health_readiness_and_metrics(nats_url: str) -> None:
    port = free_port()
    env = dict(
        os.environ, NATS_URL=nats_url, ZVONAR_MONITOR_PORT=str(port), ZVONAR_LOG_FORMAT="json"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", SERVICE], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        base = f"http://127.0.0.1:{port}"
        assert _wait_http(f"{base}/healthz").status_code == 200
        deadline = time.monotonic() + 20
        while _wait_http(f"{base}/readyz").status_code != 200:
            assert time.monotonic() < deadline, "never ready"
            time.sleep(0.1)

        async def over_nats() -> tuple[bool, bytes]:
            nc = await connect(nats_url, "monitor-test")
            try:
                health = await ask_health(nc, "probe", timeout=2)
                reply = await nc.request("probe.echo", b'"hello"', timeout=2)
            finally:
                await nc.close()
            return bool(health and health.ready), reply.data

        ready, echoed = asyncio.run(over_nats())
        assert ready
        assert echoed == b"HELLO"
        metrics = _wait_http(f"{base}/metrics").text
        assert 'zvonar_messages_processed_total{consumer="probe.echo"} 1.0' in metrics
        assert _wait_http(f"{base}/nope").status_code == 404
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert b'"event": "stopped"' in output
