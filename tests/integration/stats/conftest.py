"""The stats service running in-process on the session's real nats-server, over SQLite or a
fresh PostgreSQL database; tests play the campaign service and the dialer by publishing
contract events to JetStream, and ask their questions over NATS request-reply.

The session's streams are shared with other tests, so each test uses its own account,
campaign ids far above anyone else's, campaign-log positions above any earlier test's,
and durable consumers of its own (which start from sequence 1 of each stream).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.nats_request import request
from zvonar_contracts import campaign_events as ev
from zvonar_contracts import subjects
from zvonar_contracts.call_events import CallCompleted, call_id_of
from zvonar_contracts.codec import decode_query_reply, encode, type_name
from zvonar_contracts.options import CampaignOptions, PhoneBaseRef, TtsAudio
from zvonar_contracts.queries import QueryReply, StatsQuery
from zvonar_runtime.db import Cursor
from zvonar_runtime.jetstream import connect, ensure_jetstream
from zvonar_stats.adapters.checkpoints import calls_applied, read_checkpoint
from zvonar_stats.adapters.schema import CAMPAIGN_STREAM_KEY, active_tables
from zvonar_stats.bootstrap import StatsApp, bootstrap
from zvonar_stats.entrypoints.consumers import durables
from zvonar_stats.settings import StatsSettings

T0 = dt.datetime(2026, 6, 17, 9, 0, tzinfo=dt.UTC)
_ids = itertools.count(int(time.time()) % 100_000 * 1000 + 9_000_000_000, 50)
_positions = itertools.count(int(time.time() * 1000) * 1000)


class Feed:
    """Publishes contract events the way the campaign service and the dialer do."""

    def __init__(self, nc: Any) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.account = f"acc_{uuid.uuid4().hex[:10]}"
        self.base = next(_ids)
        self.last_position = 0

    def cid(self, offset: int = 0) -> int:
        return self.base + offset

    def created(self, offset: int = 0, *, count: int = 3, **options: Any) -> ev.CampaignCreated:
        options.setdefault("name", "Акция июнь")
        return ev.CampaignCreated(
            campaign_id=self.cid(offset),
            account_id=self.account,
            at=T0,
            options=CampaignOptions(audio=TtsAudio(text="Здравствуйте"), **options),
            phones=PhoneBaseRef(bucket="phone-bases", name="x", count=count, sha256="x"),
            account_tz="Europe/Moscow",
        )

    def event(self, kind: type, offset: int = 0, **fields: Any) -> Any:
        fields.setdefault("at", T0)
        return kind(campaign_id=self.cid(offset), account_id=self.account, **fields)

    def call(
        self,
        phone: str,
        outcome: str = "answered",
        *,
        offset: int = 0,
        part: int = 0,
        attempt: int = 1,
        final: bool = True,
        lead: bool = False,
        cost: str = "0.00",
    ) -> CallCompleted:
        cid = self.cid(offset)
        return CallCompleted(
            campaign_id=cid,
            account_id=self.account,
            at=T0,
            call_id=call_id_of(cid, part, phone, attempt),
            phone=phone,
            part=part,
            attempt=attempt,
            started_at=T0 + dt.timedelta(seconds=attempt),
            outcome=outcome,  # type: ignore[arg-type]
            duration_s=4.5,
            billed_s=60,
            cost=Decimal(cost),
            lead=lead,
            final=final,
            answer_text="да" if lead else "",
            recording=f"{cid}/{phone}.wav",
        )

    async def campaign(self, *events: Any) -> int:
        for event in events:
            self.last_position = next(_positions)
            if isinstance(event, ev.StopListPhonesAdded | ev.StopListPhonesRemoved):
                subject = subjects.stop_list_event_subject(event.account_id, type_name(event))
            else:
                subject = subjects.campaign_event_subject(event.campaign_id, type_name(event))
            headers = {
                subjects.MSG_ID_HEADER: f"cl-{self.last_position}",
                subjects.POSITION_HEADER: str(self.last_position),
            }
            await self.js.publish(subject, encode(event), headers=headers)
        return self.last_position

    async def ask(self, query: StatsQuery) -> QueryReply:
        return await ask(self.nc, query)

    async def request(self, subject: str, data: bytes) -> bytes:
        return await request(self.nc, subject, data)

    async def eventually(self, check: Callable[[], Awaitable[bool]]) -> None:
        await eventually(check)

    async def calls(self, *calls: CallCompleted, msg_id_suffix: str = "") -> None:
        for item in calls:
            subject = subjects.call_event_subject(item.campaign_id, type_name(item))
            headers = {subjects.MSG_ID_HEADER: item.call_id + msg_id_suffix}
            await self.js.publish(subject, encode(item), headers=headers)


async def ask(nc: Any, query: StatsQuery, timeout: float = 5.0) -> QueryReply:
    subject = subjects.stats_query_subject(type_name(query))
    return decode_query_reply(await request(nc, subject, encode(query), timeout=timeout))


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("the expected effect did not show in time")
        await asyncio.sleep(0.05)


def dump_tables(cur: Cursor) -> dict[str, list[tuple[Any, ...]]]:
    """Every read-model table's rows, named without their generation, in a stable order."""
    t = active_tables(cur)
    dump: dict[str, list[tuple[Any, ...]]] = {}
    for table in t.all():
        rows = cur.execute(f"SELECT * FROM {table}").fetchall()
        dump[table.rsplit("_g", 1)[0]] = sorted(tuple(r) for r in rows)
    # The call stream's checkpoint as the sequence up to which every call is applied,
    # however it is kept (whole, or one a partition): a rebuild keeps it whole.
    campaign = read_checkpoint(cur, t, CAMPAIGN_STREAM_KEY)
    dump["checkpoints"] = [
        ("call", calls_applied(cur, t).everywhere, 0),
        ("campaign", campaign.seq, campaign.position),
    ]
    return dump


class Running:
    """One stats service instance and a way to restart it on the same store."""

    def __init__(self, nats_url: str, settings: StatsSettings) -> None:
        self.nats_url = nats_url
        self.settings = settings
        self.app: StatsApp | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._close: list[Callable[[], Awaitable[None]]] = []
        self._nc: Any = None

    async def start(self) -> StatsApp:
        self._nc = await connect(self.nats_url, "stats-under-test")
        self.js = self._nc.jetstream()
        await ensure_jetstream(self._nc.jetstream())
        self.app, resources = await bootstrap(self.settings, nc=self._nc)
        self._tasks = [asyncio.create_task(job()) for job in resources.background]
        self._close = resources.close
        return self.app

    async def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        assert self.app is not None
        return await self.app.db.run(dump_tables)

    async def stop(self) -> None:
        """Stops everything, then raises what a background job failed with, if one did
        (after the connection is closed: a half-stopped instance would go on answering)."""
        for task in self._tasks:
            task.cancel()
        failed: list[BaseException] = []
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception as exc:
                failed.append(exc)
        try:
            for close in self._close:
                await close()
        finally:
            await self._nc.close()
        if failed:
            raise failed[0]


@pytest.fixture(scope="session")
def stats_pg_url(pg_database_factory: Callable[[], str]) -> str:
    """One PostgreSQL database for the stats tests, a schema per test (a database costs
    seconds to drop; a schema does not)."""
    return pg_database_factory()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stats_settings(request: pytest.FixtureRequest, tmp_path: Path, nats_url: str) -> StatsSettings:
    unique = uuid.uuid4().hex[:8]
    pg_url = request.getfixturevalue("stats_pg_url") if request.param == "postgres" else None
    return StatsSettings(
        nats_url=nats_url,
        data_dir=tmp_path,
        database_url=pg_url,
        db_schema=f"stats_{unique}",
        campaign_durable=f"stats-campaign-test-{unique}",
        call_durable=f"stats-call-test-{unique}",
        instance=f"stats-test-{unique}",
        lease_bucket=f"stats-leases-test-{unique}",
        stats_instance_id=f"stats-test-{unique}",
    )


@pytest.fixture
async def stats(nats_url: str, stats_settings: StatsSettings, nc: Any) -> AsyncIterator[Running]:
    running = Running(nats_url, stats_settings)
    await running.start()
    yield running
    await running.stop()
    await forget_consumers(nc, stats_settings)


async def forget_consumers(nc: Any, settings: StatsSettings) -> None:
    """The durable consumers and the lease bucket of a test's stats instances."""
    js = nc.jetstream()
    for stream, durable in [
        *durables(settings),
        (subjects.CALL_EVENTS_STREAM, settings.call_durable),
    ]:
        with contextlib.suppress(Exception):
            await js.delete_consumer(stream, durable)
    with contextlib.suppress(Exception):
        await js.delete_key_value(settings.lease_bucket)


@pytest.fixture
def feed(nc: Any) -> Feed:
    return Feed(nc)
