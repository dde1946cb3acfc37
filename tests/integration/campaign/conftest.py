"""Fixtures of the campaign integration tests: a nats-server of each test's own (campaign
numbers and `cl-<position>` message ids restart with every fresh database, so two databases
must never share a stream), the service running in-process on a chosen backend, the dialer's
clock published in its key-value entry as a dialer would, and helpers to read the stream
back."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from tests.nats_request import request
from zvonar_campaign.adapters.relay import Relay
from zvonar_campaign.bootstrap import Store, bootstrap, open_store
from zvonar_campaign.entrypoints.commands import register_commands
from zvonar_campaign.service_layer.unit import Deps
from zvonar_campaign.settings import CampaignSettings
from zvonar_contracts import commands as c
from zvonar_contracts import subjects
from zvonar_contracts.clock import ClockOrigin
from zvonar_contracts.codec import decode_command_reply, encode, type_name
from zvonar_contracts.commands import CommandReply
from zvonar_contracts.options import CampaignOptions, PhoneBaseRef, TtsAudio
from zvonar_devtools.natsserver import NatsServer
from zvonar_runtime.dialer_clock import ClockReader, publish_clock
from zvonar_runtime.jetstream import connect, ensure_jetstream
from zvonar_runtime.service import make_broker

DIALER_NOW = dt.datetime(2026, 6, 17, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[NatsServer]:
    store = tmp_path / "nats"
    store.mkdir()
    with NatsServer(store, log_file=store / "nats.log") as server:
        yield server


@pytest.fixture
async def client(own_nats: NatsServer) -> AsyncIterator[Client]:
    nc = await connect(own_nats.url, "campaign-test")
    await ensure_jetstream(nc.jetstream())
    yield nc
    await nc.close()


@dataclass
class RunningService:
    store: Store
    relay: Relay | None
    nc: Client
    deps: Deps
    clock: ClockReader

    async def send(self, command: msgspec.Struct, correlation_id: str = "") -> CommandReply:
        """A command over NATS (a momentary "no responders" asked again for up to 3 s)."""
        headers = {subjects.CORRELATION_HEADER: correlation_id} if correlation_id else None
        subject = subjects.campaign_command_subject(type_name(command))
        data = await request(
            self.nc, subject, encode(command), timeout=10, patience=3.0, headers=headers
        )
        return decode_command_reply(data)


ServiceFactory = Callable[..., contextlib.AbstractAsyncContextManager[RunningService]]


@pytest.fixture
def campaign_service(own_nats: NatsServer, client: Client) -> ServiceFactory:
    @contextlib.asynccontextmanager
    async def run(
        database_url: str | None,
        sqlite_path: Path,
        *,
        relay: bool = True,
        poll_interval: float = 0.05,
    ) -> AsyncIterator[RunningService]:
        store = await asyncio.to_thread(open_store, database_url, lambda: sqlite_path)
        # The production broker: its middleware binds each command's correlation id.
        broker = make_broker(CampaignSettings(nats_url=own_nats.url))
        await broker.connect()
        settings = CampaignSettings(
            database_url=database_url, relay=relay, relay_poll_interval=poll_interval
        )
        clock = ClockReader()
        await clock.start(broker.connection.jetstream())
        service = bootstrap(settings, store=store, clock=clock, js=broker.connection.jetstream())
        running, deps = service.relay, service.deps
        register_commands(broker, deps)
        await broker.start()
        task = asyncio.create_task(running.run()) if running else None
        try:
            yield RunningService(store=store, relay=running, nc=client, deps=deps, clock=clock)
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await clock.stop()
            await broker.stop()
            await asyncio.to_thread(store.close)

    return run


async def stream_messages(nc: Client, filter_subject: str = "campaign.events.>") -> list[Msg]:
    """Every message of CAMPAIGN_EVENTS on the filter, in stream order."""
    js = nc.jetstream()
    info = await js.stream_info(subjects.CAMPAIGN_EVENTS_STREAM)
    if info.state.messages == 0:
        return []
    sub = await js.pull_subscribe(filter_subject, stream=subjects.CAMPAIGN_EVENTS_STREAM)
    messages: list[Msg] = []
    try:
        while True:
            try:
                batch = await sub.fetch(500, timeout=0.3)
            except TimeoutError:
                break
            for msg in batch:
                await msg.ack()
            messages.extend(batch)
    finally:
        await sub.unsubscribe()
    return messages


async def eventually(check: Callable[[], Awaitable[Any]], *, timeout: float = 10.0) -> Any:
    """Polls `check` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout}s: {result!r}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def dialer_clock(client: Client) -> ClockOrigin:
    """The dialer's clock as a dialer publishes it at start: DIALER_NOW at this moment,
    running at the wall clock's pace. Nothing answers requests on `dialer.req.*`."""
    origin = ClockOrigin(wall=dt.datetime.now(dt.UTC), dialer=DIALER_NOW, scale=1.0)
    await publish_clock(client.jetstream(), origin)
    return origin


@pytest.fixture
def read_stream(client: Client) -> Callable[..., Awaitable[list[Msg]]]:
    return lambda filter_subject="campaign.events.>": stream_messages(client, filter_subject)


@pytest.fixture
def wait_for() -> Callable[..., Awaitable[Any]]:
    return eventually


RelayProcess = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def relay_process(own_nats: NatsServer, pg_url: str, tmp_path: Path) -> Iterator[RelayProcess]:
    """Starts `zvonar-campaign relay` child processes on this test's NATS and PostgreSQL:
    `start(name="relay", **env)`, logging (JSON) to `<tmp_path>/<name>.log`. Small batches
    and a pause before each record, so that most kills land between publish and record."""
    procs: list[subprocess.Popen[bytes]] = []
    env = {
        **os.environ,
        "NATS_URL": own_nats.url,
        "DATABASE_URL": pg_url,
        "ZVONAR_DATA_DIR": str(tmp_path / "data"),
        "ZVONAR_LOG_FORMAT": "json",
        "CAMPAIGN_RELAY_BATCH_SIZE": "3",
        "CAMPAIGN_RELAY_RECORD_DELAY": "0.2",
    }

    def start(name: str = "relay", **overrides: str) -> subprocess.Popen[bytes]:
        with (tmp_path / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "zvonar_campaign", "relay"],
                env={**env, "CAMPAIGN_RELAY_INSTANCE_ID": name, **overrides},
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


async def last_position(nc: Client) -> int:
    """The log position of the last event in CAMPAIGN_EVENTS (0: none yet)."""
    js = nc.jetstream()
    info = await js.stream_info(subjects.CAMPAIGN_EVENTS_STREAM)
    if info.state.messages == 0:
        return 0
    msg = await js.get_msg(subjects.CAMPAIGN_EVENTS_STREAM, info.state.last_seq)
    return int((msg.headers or {})[subjects.POSITION_HEADER])


@contextlib.asynccontextmanager
async def steady_commands(
    service: RunningService, account_id: str
) -> AsyncIterator[asyncio.Task[None]]:
    """A steady stream of commands (a create, then a comment on it) until the block ends;
    yields the writing task (done early only if a command failed)."""
    phones = PhoneBaseRef(bucket="phone-bases", name="c" * 64, count=1, sha256="c" * 64)
    stop = asyncio.Event()

    async def write() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            options = CampaignOptions(name=f"Рассылка {n}", audio=TtsAudio(text="Алло"))
            create = c.CreateCampaign(
                account_id=account_id, account_tz="UTC", options=options, phones=phones
            )
            reply = await service.send(create)
            assert isinstance(reply, c.CommandOk) and reply.campaign is not None, reply
            text = f"#{n}"
            comment = c.SetComment(
                account_id=account_id, campaign_id=reply.campaign.campaign_id, text=text
            )
            await service.send(comment)
            await asyncio.sleep(0.01)  # leaves the CPU to the relays

    writer = asyncio.create_task(write())
    try:
        yield writer
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await writer


async def moved_past(nc: Client, position: int, writer: asyncio.Task[None]) -> bool:
    """Whether the stream got past `position`; says why if the writer failed instead."""
    if writer.done():
        writer.result()
        raise AssertionError("the writer stopped")
    return await last_position(nc) > position
