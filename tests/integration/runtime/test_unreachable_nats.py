"""A service pointed at a NATS that does not answer says so (`nats_unreachable`, with the URL
and when it tries again) and stops within 5 s of SIGTERM, though it never got started."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration
STOP_WITHIN_SECONDS = 5.0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _lines(process: subprocess.Popen[str]) -> queue.Queue[str | None]:
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _wait_for_event(lines: queue.Queue[str | None], event: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") == event:
            return dict(record)
    raise AssertionError(f"no {event!r} line within {timeout} s; output:\n{''.join(seen)}")


@pytest.mark.parametrize(
    "args",
    [["-m", "zvonar_moderation"], ["-m", "zvonar_gateway"], ["-m", "zvonar_campaign", "relay"]],
    ids=["moderation", "gateway", "campaign-relay"],
)
def test_unreachable_nats_is_logged_and_sigterm_stops_the_start_up(
    args: list[str], tmp_path: Path
) -> None:
    url = f"nats://127.0.0.1:{_closed_port()}"
    env = dict(
        os.environ,
        NATS_URL=url,
        ZVONAR_LOG_FORMAT="json",
        ZVONAR_DATA_DIR=str(tmp_path),
        ZVONAR_SESSION_SECRET="s" * 64,
    )
    env.pop("DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = _lines(process)
        record = _wait_for_event(lines, "nats_unreachable", timeout=90)
        assert record["url"] == url
        assert record["retry_in_seconds"] > 0
        assert record["level"] == "warning"
        assert record["phase"] == "start-up"
        # Still trying: it keeps waiting for NATS rather than giving up.
        assert process.poll() is None
        process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        code = process.wait(timeout=30)
        took = time.monotonic() - sent
        assert took < STOP_WITHIN_SECONDS, f"stopped {took:.1f} s after SIGTERM"
        assert code == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_sigterm_while_nats_is_gone_stops_the_running_service(tmp_path: Path) -> None:
    """Ready, then NATS goes away: the service says so and SIGTERM still stops it in time,
    with status 0 and no traceback (it cannot drain a reconnecting client)."""
    from zvonar_devtools.natsserver import NatsServer

    server = NatsServer(tmp_path / "nats")
    server.start()
    env = dict(
        os.environ, NATS_URL=server.url, ZVONAR_LOG_FORMAT="json", ZVONAR_DATA_DIR=str(tmp_path)
    )
    env.pop("DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "zvonar_moderation"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = _lines(process)
        _wait_for_event(lines, "ready", timeout=90)
        server.stop()
        record = _wait_for_event(lines, "nats_unreachable", timeout=60)
        assert record["url"] == server.url
        assert record["phase"] == "running"
        process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        code = process.wait(timeout=30)
        took = time.monotonic() - sent
        rest: list[str] = []
        while (line := lines.get(timeout=10)) is not None:
            rest.append(line)
        assert took < STOP_WITHIN_SECONDS, f"stopped {took:.1f} s after SIGTERM"
        assert code == 0, "".join(rest)
        assert not any("Traceback" in line for line in rest), "".join(rest)
        assert any('"event": "stopped"' in line for line in rest)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        server.stop()
