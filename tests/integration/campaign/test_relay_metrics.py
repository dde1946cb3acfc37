"""The relay's position behind the event log is a gauge (`zvonar_relay_behind_events`): the
last notification id minus the relay's position, 0 once it caught up; and the relay alone
(`zvonar-campaign relay`, its own Deployment) serves /healthz, /readyz and /metrics on its
monitor port like every other process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from nats.aio.client import Client

from zvonar_campaign.adapters.relay import Relay
from zvonar_campaign.metrics import RELAY_BEHIND, RELAY_PUBLISHED
from zvonar_contracts import commands as c
from zvonar_contracts.options import CampaignOptions, PhoneBaseRef, TtsAudio
from zvonar_devtools.natsserver import NatsServer, free_port

pytestmark = pytest.mark.integration

PHONES = PhoneBaseRef(bucket="phone-bases", name="d" * 64, count=1, sha256="d" * 64)


def _create(n: int) -> c.CreateCampaign:
    options = CampaignOptions(name=f"Рассылка {n}", audio=TtsAudio(text="Алло"))
    return c.CreateCampaign(account_id="acc_m", account_tz="UTC", options=options, phones=PHONES)


async def test_the_behind_gauge_counts_what_is_stored_and_not_yet_published(
    campaign_service: Any, tmp_path: Path, client: Client, dialer_clock: Any
) -> None:
    async with campaign_service(None, tmp_path / "campaign.sqlite3", relay=False) as service:
        for n in range(4):
            await service.send(_create(n))
        store = service.store
        last = store.app.recorder.max_notification_id()
        assert last is not None and last >= 4
        relay = Relay(store.app, store.tables, client.jetstream(), batch_size=2)
        relay.position = await store.tables.relay_position()
        published = RELAY_PUBLISHED._value.get()

        assert await relay.relay_once() == 2  # a full batch: how much is left is asked
        assert RELAY_BEHIND._value.get() == last - relay.position > 0
        while await relay.relay_once():
            assert RELAY_BEHIND._value.get() == last - relay.position
        assert relay.position == last
        assert RELAY_BEHIND._value.get() == 0
        assert RELAY_PUBLISHED._value.get() - published == last

        await service.send(_create(99))  # stored, not relayed: the next read finds it
        await relay._measure_behind()
        assert RELAY_BEHIND._value.get() == store.app.recorder.max_notification_id() - last > 0


def _get(url: str, process: subprocess.Popen[bytes], timeout: float = 90.0) -> httpx.Response:
    """GET once the monitor listens (start-up is slow on a busy machine)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=5.0)
        except httpx.TransportError:
            if process.poll() is not None:
                raise AssertionError(f"the relay exited: {process.communicate()[0]!r}") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_the_relay_process_serves_health_readiness_and_metrics(
    own_nats: NatsServer, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "NATS_URL": own_nats.url,
        "ZVONAR_DATA_DIR": str(tmp_path / "data"),
        "ZVONAR_LOG_FORMAT": "json",
        "ZVONAR_MONITOR_PORT": str(port),
    }
    env.pop("DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "zvonar_campaign", "relay"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        assert _get(f"{base}/healthz", process).status_code == 200
        deadline = time.monotonic() + 60
        while _get(f"{base}/readyz", process).status_code != 200:
            assert time.monotonic() < deadline, "the relay never got ready"
            time.sleep(0.2)
        metrics = _get(f"{base}/metrics", process)
        assert metrics.headers["content-type"].startswith("text/plain")
        assert "zvonar_relay_behind_events 0.0" in metrics.text
        assert "zvonar_relay_events_published_total 0.0" in metrics.text
        missing = _get(f"{base}/nope", process)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert b'"event": "stopped"' in output
