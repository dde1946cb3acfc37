"""Two stats instances on one store share the projection by lease: the campaign stream and
each call partition are held by one of them; when one dies without a word (its connection
gone, its leases left to expire), the other takes its units after the lease's time, and
every call published is counted once — none lost, none twice."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from tests.integration.stats.conftest import Running, eventually, forget_consumers
from zvonar_contracts import queries as q
from zvonar_contracts import subjects
from zvonar_contracts.options import Size
from zvonar_runtime.db import Cursor
from zvonar_stats.adapters.checkpoints import calls_applied
from zvonar_stats.adapters.schema import active_tables
from zvonar_stats.domain.partitions import units
from zvonar_stats.entrypoints.check import find_differences
from zvonar_stats.settings import StatsSettings

pytestmark = pytest.mark.integration

CAMPAIGNS = 6
NUMBERS = 120
LEASE_SECONDS = 3.0


async def _kill(running: Running) -> None:
    """As a SIGKILL looks from outside: the connection drops at once, nothing is released
    (the leases stay until they expire), the consumers stop mid-batch."""
    await running._nc.close()
    for task in running._tasks:
        task.cancel()
    for task in running._tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    assert running.app is not None
    await running.app.db.aclose()


def _held(running: Running) -> set[str]:
    assert running.app is not None
    return set(running.app.shares.held)


async def test_two_instances_share_the_units_and_one_takes_over_when_the_other_dies(
    stats_settings: StatsSettings, nats_url: str, feed: Any, nc: Any
) -> None:
    js = nc.jetstream()
    settings = stats_settings.model_copy(
        update={"lease_seconds": LEASE_SECONDS, "partitions": 4, "stats_instance_id": "first"}
    )
    first = Running(nats_url, settings)
    second = Running(nats_url, settings.model_copy(update={"stats_instance_id": "second"}))
    every_unit = set(units(settings.partitions))
    await first.start()
    await second.start()
    killed = False
    try:

        async def shared() -> bool:
            a, b = _held(first), _held(second)
            return bool(a and b and not a & b and a | b == every_unit)

        await eventually(shared, timeout=10 * LEASE_SECONDS)
        await feed.campaign(*(feed.created(c, count=NUMBERS) for c in range(CAMPAIGNS)))

        for n in range(NUMBERS):
            await feed.calls(
                *(
                    feed.call(
                        f"+7916{c}{n:06d}",
                        "answered" if n % 3 else "no_answer",
                        offset=c,
                        cost="0.10" if n % 3 else "0.00",
                    )
                    for c in range(CAMPAIGNS)
                )
            )
            if n == NUMBERS // 3:
                gone = _held(first)
                await _kill(first)
                killed = True
        assert gone, "the first instance held nothing when it died"

        async def taken_over() -> bool:
            return _held(second) == every_unit

        await eventually(taken_over, timeout=10 * LEASE_SECONDS)
        last = (await js.stream_info(subjects.CALL_EVENTS_STREAM)).state.last_seq
        assert second.app is not None
        db = second.app.db

        async def every_call_applied() -> bool:
            def read(cur: Cursor) -> int:
                return calls_applied(cur, active_tables(cur)).everywhere

            return bool(await db.run(read) >= last)

        await eventually(every_call_applied, timeout=60)

        answered = sum(1 for n in range(NUMBERS) if n % 3)
        for c in range(CAMPAIGNS):
            reply = await feed.ask(q.GetCampaign(campaign_id=feed.cid(c), account_id=None))
            assert reply.campaign.size == Size(
                total=NUMBERS, answered=answered, not_answered=NUMBERS - answered
            ), c
            report = await feed.ask(
                q.GetReport(campaign_id=feed.cid(c), account_id=feed.account, per_page=1000)
            )
            assert report.total == NUMBERS, c  # one ledger row per call published
        assert await find_differences(db, js) == []
    finally:
        # Each stopped whatever the other's stop does: one left running would answer the
        # next tests' queries from this test's store.
        try:
            if not killed:
                await first.stop()
        finally:
            try:
                await second.stop()
            finally:
                await forget_consumers(nc, settings)


async def test_an_instance_that_does_not_project_answers_from_the_store_the_other_fills(
    stats_settings: StatsSettings, nats_url: str, feed: Any, nc: Any
) -> None:
    settings = stats_settings.model_copy(update={"stats_instance_id": "projecting"})
    projecting = Running(nats_url, settings)
    answering = Running(
        nats_url, settings.model_copy(update={"stats_instance_id": "answering", "project": False})
    )
    await projecting.start()
    await answering.start()
    try:
        # The projecting instance stops answering: every query goes to the other one.
        assert projecting.app is not None
        await projecting.app.subscription.unsubscribe()
        position = await feed.campaign(feed.created(0, count=2))
        await feed.calls(feed.call("+79160000001", cost="0.10"))

        async def counted() -> bool:
            reply = await feed.ask(q.GetCampaign(campaign_id=feed.cid(0), account_id=None))
            view = getattr(reply, "campaign", None)
            return view is not None and view.size.answered == 1

        await eventually(counted)
        page = await feed.ask(q.ListCampaigns(account_id=feed.account, min_position=position))
        assert [item.id for item in page.items] == [feed.cid(0)]
        assert page.position >= position
        assert _held(answering) == set() and _held(projecting) == set(units(settings.partitions))
    finally:
        try:
            await answering.stop()
        finally:
            try:
                await projecting.stop()
            finally:
                await forget_consumers(nc, settings)
