"""`zvonar-moderation` on its own with only NATS: ready, health and metrics over HTTP, the rules
re-read on SIGHUP, a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client

from zvonar_devtools.natsserver import NatsServer, free_port
from zvonar_moderation.adapters.rules_file import default_rules_path
from zvonar_runtime.health import wait_ready

from .conftest import eventually

pytestmark = pytest.mark.integration


def http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def log_events(path: Path) -> list[str]:
    events = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{"):
            events.append(json.loads(line).get("event", ""))
    return events


class Process:
    def __init__(self, private_nats: NatsServer, tmp_path: Path) -> None:
        self.rules = tmp_path / "rules.toml"
        self.rules.write_text(default_rules_path().read_text(encoding="utf-8"), encoding="utf-8")
        self.port = free_port()
        self.log_path = tmp_path / "moderation.log"
        env = {
            **os.environ,
            "NATS_URL": private_nats.url,
            "ZVONAR_DATA_DIR": str(tmp_path / "data"),
            "MODERATION_RULES": str(self.rules),
            "ZVONAR_MONITOR_PORT": str(self.port),
            "ZVONAR_LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("DATABASE_URL", None)
        with self.log_path.open("wb") as log:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "zvonar_moderation"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def events(self) -> list[str]:
        return log_events(self.log_path)


@pytest.fixture
def moderation_process(private_nats: NatsServer, tmp_path: Path) -> Iterator[Process]:
    process = Process(private_nats, tmp_path)
    yield process
    if process.popen.poll() is None:
        process.popen.kill()
        process.popen.wait(timeout=10)


async def test_the_service_runs_alone_reloads_rules_and_stops(
    client: Client, moderation_process: Process
) -> None:
    process = moderation_process
    await wait_ready(client, ["moderation"], timeout=60)
    status, body = await asyncio.to_thread(http_get, process.url("/readyz"))
    assert status == 200, body
    status, _ = await asyncio.to_thread(http_get, process.url("/healthz"))
    assert status == 200
    status, body = await asyncio.to_thread(http_get, process.url("/metrics"))
    assert status == 200 and b"zvonar_messages_processed_total" in body
    assert process.events().count("rules_loaded") == 1

    process.popen.send_signal(signal.SIGHUP)

    async def reloaded() -> bool:
        return process.events().count("rules_loaded") == 2

    await eventually(reloaded)
    assert process.popen.poll() is None
    process.popen.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(process.popen.wait, 30) == 0
    assert "stopped" in process.events()
