"""The runner behind `make run`: nats-server plus five service processes on the real broker,
all report ready over NATS, a service that dies is started again, and SIGTERM stops every
one of them cleanly."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zvonar_contracts.subjects import SERVICES
from zvonar_devtools.natsserver import free_port
from zvonar_runtime.health import wait_ready
from zvonar_runtime.jetstream import connect

pytestmark = pytest.mark.integration


def _read_until(process: subprocess.Popen[str], pattern: str, timeout: float) -> re.Match[str]:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if match := re.search(pattern, line):
            return match
    raise AssertionError(f"{pattern!r} not seen; output:\n{''.join(seen)}")


def _start_runner(tmp_path: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NATS_URL", "DATABASE_URL")}
    env.update(
        ZVONAR_DATA_DIR=str(tmp_path / "data"),
        ZVONAR_HTTP_PORT=str(free_port()),
        ZVONAR_DEMO="0",
        ZVONAR_LOG_FORMAT="json",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "zvonar_devtools.runner"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _instances(url: str) -> dict[str, str]:
    """Every service's ready instance (its name ends with its process id)."""

    async def ask() -> dict[str, str]:
        nc = await connect(url, "runner-test")
        try:
            replies = await wait_ready(nc, SERVICES, timeout=90)
        finally:
            await nc.close()
        return {reply.service: reply.instance for reply in replies.values()}

    return asyncio.run(ask())


def test_runner_starts_everything_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    process = _start_runner(tmp_path)
    try:
        url = _read_until(process, r"JetStream at (nats://\S+)", 30).group(1)
        assert set(_instances(url)) == set(SERVICES)
        _read_until(process, r"Zvonar is ready at http://", 30)
        assert (tmp_path / "data" / "nats").is_dir()
        assert len((tmp_path / "data" / "secrets.key").read_text().strip()) == 44
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    for service in SERVICES:
        assert re.search(rf'^{service}\s+\|.*"event": "stopped"', output, re.M), service


def test_runner_starts_a_service_again_after_it_died(tmp_path: Path) -> None:
    process = _start_runner(tmp_path)
    try:
        url = _read_until(process, r"JetStream at (nats://\S+)", 30).group(1)
        before = _instances(url)
        pid = int(before["moderation"].rsplit("-", 1)[1])
        os.kill(pid, signal.SIGKILL)  # as if it had crashed
        _read_until(process, r"^moderation\s+\|.*exited with code -9; restarting in 1 s", 30)
        _read_until(process, r"^moderation\s+\|.*restarting \(restart 1\)", 30)
        after = _instances(url)
        assert after["moderation"] != before["moderation"]
        assert {s: i for s, i in after.items() if s != "moderation"} == {
            s: i for s, i in before.items() if s != "moderation"
        }
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
