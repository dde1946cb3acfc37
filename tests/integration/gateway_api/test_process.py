"""The gateway process itself (`python -m zvonar_gateway`): uvicorn inside the service
runner, health over NATS, the demo seeded once through the API's own path, clean SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from nats.aio.client import Client

from zvonar_runtime.health import serve_health

ADMIN = "process-admin"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(nats_url: str, data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "NATS_URL": nats_url,
        "ZVONAR_DATA_DIR": str(data_dir),
        "ZVONAR_HTTP_PORT": str(port),
        "ZVONAR_DEMO": "1",
        "ZVONAR_ADMIN_TOKEN": ADMIN,
        "ZVONAR_LOG_FORMAT": "json",
    }
    env.pop("DATABASE_URL", None)
    log = (data_dir / "gateway.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "zvonar_gateway"], env=env, stdout=log, stderr=log
    )


async def _poll(check: Any, timeout: float = 30.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert loop.time() < deadline, "timed out waiting"
        await asyncio.sleep(0.1)


async def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return await asyncio.to_thread(process.wait, 20)


async def test_the_process_serves_seeds_the_demo_once_and_stops(
    nc: Client, nats_url: str, services: Any, tmp_path: Path
) -> None:
    for service in ("campaign", "moderation", "dialer", "stats"):
        await serve_health(nc, service, f"{service}-double")
    await nc.flush()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    key_file = tmp_path / "demo-api-key"
    process = _start(nats_url, tmp_path, port)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:

            async def healthy() -> bool:
                try:
                    return (await http.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await _poll(healthy)

            async def seeded() -> bool:
                return len(services.campaigns) >= 3

            await _poll(seeded)
            key = key_file.read_text().strip()
            listed = await http.get("/api/v1/campaigns", headers={"Authorization": f"Bearer {key}"})
            assert listed.status_code == 200
            rows = listed.json()["items"]
            assert {row["name"] for row in rows} == {
                "Демо: простая",
                "Демо: умная",
                "Демо: отложенная",
            }
            assert any(row["start"]["kind"] == "scheduled" for row in rows)
            assert any("smart" in row["tags"] for row in rows)
            me = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
            assert me.json()["name"] == "Демо" and me.json()["timezone"] == "Europe/Moscow"
            assert listed.headers["x-request-id"]
        assert await _stop(process) == 0

        # A restart keeps the account, the key and the demo campaigns as they were.
        process = _start(nats_url, tmp_path, port)
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            await _poll(healthy)
            me = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
            assert me.status_code == 200
        assert len(services.campaigns) == 3
        assert key_file.read_text().strip() == key
        assert await _stop(process) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
