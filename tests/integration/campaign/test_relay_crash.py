"""The relay survives SIGKILL between publish and position record: killed ten times under a
stream of commands and restarted, it leaves every stored event in CAMPAIGN_EVENTS exactly
once, none missing. The relay runs alone (`zvonar-campaign relay`) in a child process; the
commands are answered in this process with the relay off."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client

from zvonar_campaign.domain.wire import to_wire
from zvonar_contracts import commands as c
from zvonar_contracts import subjects
from zvonar_contracts.options import CampaignOptions, PhoneBaseRef, TtsAudio
from zvonar_runtime.natsserver import NatsServer

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

KILLS = 10
PHONES = PhoneBaseRef(bucket="phone-bases", name="c" * 64, count=1, sha256="c" * 64)


@pytest.fixture
def relay_process(own_nats: NatsServer, pg_url: str, tmp_path: Path) -> Iterator[Any]:
    procs: list[subprocess.Popen[bytes]] = []
    log = (tmp_path / "relay.log").open("ab")
    env = {
        **os.environ,
        "NATS_URL": own_nats.url,
        "DATABASE_URL": pg_url,
        "ZVONAR_DATA_DIR": str(tmp_path / "data"),
        "ZVONAR_LOG_FORMAT": "json",
        # Small batches and a pause before each record: most kills land in the window.
        "CAMPAIGN_RELAY_BATCH_SIZE": "3",
        "CAMPAIGN_RELAY_RECORD_DELAY": "0.2",
    }

    def start(**overrides: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "zvonar_campaign", "relay"],
            env={**env, **overrides},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log.close()


async def _last_position(nc: Client) -> int:
    js = nc.jetstream()
    info = await js.stream_info(subjects.CAMPAIGN_EVENTS_STREAM)
    if info.state.messages == 0:
        return 0
    msg = await js.get_msg(subjects.CAMPAIGN_EVENTS_STREAM, info.state.last_seq)
    return int((msg.headers or {})[subjects.POSITION_HEADER])


async def test_sigkill_between_publish_and_record_loses_and_duplicates_nothing(
    campaign_service: Any,
    pg_url: str,
    tmp_path: Path,
    client: Client,
    relay_process: Any,
    read_stream: Callable[..., Awaitable[list[Any]]],
    wait_for: Callable[..., Awaitable[Any]],
) -> None:
    async with campaign_service(pg_url, tmp_path / "unused.sqlite3", relay=False) as service:
        stop_writing = asyncio.Event()

        async def write() -> None:
            n = 0
            while not stop_writing.is_set():
                n += 1
                options = CampaignOptions(name=f"Рассылка {n}", audio=TtsAudio(text="Алло"))
                create = c.CreateCampaign(
                    account_id="acc_k", account_tz="UTC", options=options, phones=PHONES
                )
                reply = await service.send(create)
                campaign_id = reply.campaign.campaign_id
                await service.send(
                    c.SetComment(account_id="acc_k", campaign_id=campaign_id, text=f"#{n}")
                )
                await asyncio.sleep(0.01)  # a steady stream, leaving the CPU to the relay

        writer = asyncio.create_task(write())
        in_window = 0
        try:
            for _ in range(KILLS):
                proc = relay_process()
                seen = await _last_position(client)
                await wait_for(lambda s=seen: _moved_past(client, s, writer), timeout=45)
                await asyncio.sleep(random.uniform(0, 0.1))  # a random moment to kill at
                proc.send_signal(signal.SIGKILL)
                await asyncio.to_thread(proc.wait)
                recorded = await service.store.tables.relay_position()
                in_window += await _last_position(client) > recorded
        finally:
            stop_writing.set()
            with contextlib.suppress(Exception):
                await writer

        app = service.store.app
        stored = app.recorder.select_notifications(start=None, limit=100_000)
        expected = [f"cl-{n.id}" for n in stored if to_wire(app.mapper.to_domain_event(n))]
        # The last run, at full speed, catches up with everything written meanwhile.
        relay_process(CAMPAIGN_RELAY_BATCH_SIZE="500", CAMPAIGN_RELAY_RECORD_DELAY="0")

        async def caught_up() -> bool:
            return bool(await service.store.tables.relay_position() == stored[-1].id)

        await wait_for(caught_up, timeout=45)
        messages = await read_stream()
        ids = [m.headers[subjects.MSG_ID_HEADER] for m in messages]
        assert ids == expected  # every event once, none missing, in log order
        info = await client.jetstream().stream_info(subjects.CAMPAIGN_EVENTS_STREAM)
        assert info.state.messages == len(expected)
        print(f"{len(expected)} events; {in_window} of {KILLS} kills between publish and record")
        assert in_window >= KILLS // 2, f"only {in_window} kills between publish and record"


async def _moved_past(nc: Client, position: int, writer: asyncio.Task[None]) -> bool:
    if writer.done():  # the writer failed: say why, rather than wait for events never written
        writer.result()
        raise AssertionError("the writer stopped")
    return await _last_position(nc) > position
