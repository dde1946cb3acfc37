"""The relay survives SIGKILL between publish and position record: killed ten times under a
stream of commands and restarted, it leaves every stored event in CAMPAIGN_EVENTS exactly
once, none missing. The relay runs alone (`zvonar-campaign relay`) in a child process; the
commands are answered in this process with the relay off."""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client

from tests.integration.campaign.conftest import (
    RelayProcess,
    last_position,
    moved_past,
    steady_commands,
)
from zvonar_campaign.domain.wire import to_wire
from zvonar_contracts import subjects

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

KILLS = 10


async def test_sigkill_between_publish_and_record_loses_and_duplicates_nothing(
    campaign_service: Any,
    pg_url: str,
    tmp_path: Path,
    client: Client,
    relay_process: RelayProcess,
    read_stream: Callable[..., Awaitable[list[Any]]],
    wait_for: Callable[..., Awaitable[Any]],
) -> None:
    async with campaign_service(pg_url, tmp_path / "unused.sqlite3", relay=False) as service:
        in_window = 0
        async with steady_commands(service, "acc_k") as writer:
            for _ in range(KILLS):
                proc = relay_process()
                seen = await last_position(client)
                await wait_for(lambda s=seen: moved_past(client, s, writer), timeout=45)
                await asyncio.sleep(random.uniform(0, 0.1))  # a random moment to kill at
                proc.send_signal(signal.SIGKILL)
                await asyncio.to_thread(proc.wait)
                recorded = await service.store.tables.relay_position()
                in_window += await last_position(client) > recorded

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
