"""Exactly-once effect under redelivery, restarts and duplicates; a rebuild that gives the
same tables while the service keeps serving; the consistency check."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from zvonar_contracts import campaign_events as ev
from zvonar_contracts import queries as q
from zvonar_contracts import subjects
from zvonar_contracts.options import Size, SmartOptions, Status
from zvonar_stats.adapters.schema import active_tables
from zvonar_stats.adapters.streams import read_stream
from zvonar_stats.entrypoints.check import find_differences
from zvonar_stats.entrypoints.rebuild import rebuild

pytestmark = pytest.mark.integration


async def tell_a_story(feed: Any) -> tuple[int, int]:
    """A smart campaign with calls of both parts and a second campaign; the last position
    and how many report rows the first campaign ends with."""
    position = await feed.campaign(
        feed.created(0, count=3, smart=SmartOptions(parts=1)),
        feed.event(
            ev.CampaignModerated, decision="accepted", decided_by="rules", status=Status.ACCEPTED
        ),
        feed.event(ev.CampaignStarted, started_at=feed.created(0).at),
        feed.event(ev.SmartPartStarted, part=1, part_campaign_id=feed.cid(1), phone_count=1),
        feed.created(2, count=2),
    )
    await feed.calls(
        feed.call("+79160000001", "answered", lead=True, cost="1.20"),
        feed.call("+79160000002", "no_answer"),
        feed.call("+79160000003", "answered", attempt=2, cost="0.60"),
        feed.call("+79160000003", "busy", attempt=1, final=False),
        feed.call("+79160000002", "answered", part=1, cost="0.35"),
        feed.call("+79160000011", "stop_listed", offset=2),
    )
    return position, 5


async def settled(stats: Any, feed: Any, position: int, report_rows: int) -> None:
    """The story is in the read model, and so is every call before it (the session's
    streams hold other tests' calls, which each call partition applies at its own pace)."""
    await feed.ask(q.ListCampaigns(account_id=feed.account, min_position=position))
    last = (await feed.js.stream_info(subjects.CALL_EVENTS_STREAM)).state.last_seq

    async def every_partition_through() -> bool:
        dump = await stats.dump()
        return bool({row[0]: row[1] for row in dump["checkpoints"]}["call"] >= last)

    await feed.eventually(every_partition_through)

    async def complete() -> bool:
        reply = await feed.ask(
            q.GetReport(campaign_id=feed.cid(0), account_id=feed.account, per_page=1000)
        )
        other = await feed.ask(q.GetReport(campaign_id=feed.cid(2), account_id=feed.account))
        return bool(reply.total == report_rows and other.total == 1)

    await feed.eventually(complete)


async def test_duplicates_and_redelivery_change_nothing(stats: Any, feed: Any, nc: Any) -> None:
    position, rows = await tell_a_story(feed)
    await settled(stats, feed, position, rows)
    before = await stats.dump()

    # The dialer publishes the same calls again past the stream's dedupe (new message ids).
    await feed.calls(
        feed.call("+79160000001", "answered", lead=True, cost="1.20"),
        feed.call("+79160000002", "answered", part=1, cost="0.35"),
        msg_id_suffix="-again",
    )
    marker = await feed.campaign(feed.created(9))
    await feed.ask(q.ListCampaigns(account_id=feed.account, min_position=marker))
    calls_seq = (await nc.jetstream().stream_info(subjects.CALL_EVENTS_STREAM)).state.last_seq

    async def calls_applied() -> bool:
        dump = await stats.dump()
        return bool({row[0]: row[1] for row in dump["checkpoints"]}["call"] >= calls_seq)

    await feed.eventually(calls_applied)
    after = await stats.dump()
    for table in ("counts", "numbers", "calls"):
        assert after[table] == before[table], table

    # The same batches applied again — a second instance, or a restart overlapping the old
    # process (here: the whole streams): nothing changes.
    app = stats.app
    for stream, apply in (
        (subjects.CAMPAIGN_EVENTS_STREAM, app.projector.apply_campaign_events),
        (subjects.CALL_EVENTS_STREAM, app.projector.apply_call_events),
    ):
        async for batch in read_stream(nc.jetstream(), stream):
            await apply(batch)
    assert await stats.dump() == after

    # A restart on the same store goes on from the stored checkpoints: nothing twice.
    await stats.stop()
    await stats.start()
    await feed.ask(q.ListCampaigns(account_id=feed.account, min_position=marker))
    await feed.eventually(calls_applied)
    assert await stats.dump() == after
    view = (await feed.ask(q.GetCampaign(campaign_id=feed.cid(0), account_id=None))).campaign
    assert view.size == Size(total=3, answered=2, leads=1, not_answered=1)
    assert view.cost == Decimal("1.80")


async def test_rebuild_gives_identical_tables_and_the_service_follows(
    stats: Any, feed: Any, nc: Any
) -> None:
    position, rows = await tell_a_story(feed)
    await settled(stats, feed, position, rows)
    before = await stats.dump()
    db = stats.app.db
    old = await db.run(active_tables)

    progress: list[int] = []
    result = await rebuild(db, nc.jetstream(), batch=50, on_progress=progress.append)

    assert result.generation == old.generation + 1
    assert result.events == sum(progress) > 0
    assert await stats.dump() == before
    tables = await db.run(lambda cur: active_tables(cur))
    assert tables.generation == result.generation
    # The running service keeps projecting, now into the new generation.
    await feed.calls(feed.call("+79160000011", "answered", offset=2, attempt=2, cost="0.10"))

    async def moved() -> bool:
        reply = await feed.ask(q.GetCampaign(campaign_id=feed.cid(2), account_id=feed.account))
        return bool(reply.campaign.cost == Decimal("0.10"))

    await feed.eventually(moved)
    view = await feed.ask(q.GetCampaign(campaign_id=feed.cid(2), account_id=feed.account))
    assert view.campaign.size == Size(total=2, answered=1, in_progress=1)


async def test_the_rebuild_command_swaps_under_a_running_service(
    stats: Any, feed: Any, nc: Any
) -> None:
    position, rows = await tell_a_story(feed)
    await settled(stats, feed, position, rows)
    before = await stats.dump()
    old = await stats.app.db.run(active_tables)

    completed = await _run_cli(stats.settings, "rebuild")

    assert completed.returncode == 0, completed.stderr
    assert "events/s" in completed.stdout
    assert (await stats.app.db.run(active_tables)).generation == old.generation + 1
    assert await stats.dump() == before
    reply = await feed.ask(q.GetCampaign(campaign_id=feed.cid(0), account_id=feed.account))
    assert reply.campaign.cost == Decimal("1.80")


async def test_the_check_passes_and_finds_a_corrupted_row(
    stats: Any, feed: Any, nc: Any, tmp_path: Path
) -> None:
    position, rows = await tell_a_story(feed)
    await settled(stats, feed, position, rows)
    db = stats.app.db
    progress: list[int] = []
    totals: list[int] = []
    assert await find_differences(db, nc.jetstream(), progress.append, totals.append) == []
    # The progress bar's figures: the total is the checkpoints' sequences (an upper bound:
    # a stream's sequence can have gaps), and every batch read is counted.
    (total,) = totals
    assert 0 < sum(progress) <= total
    assert all(n > 0 for n in progress)

    def corrupt(cur: Any) -> None:
        t = active_tables(cur)
        cur.execute(
            f"UPDATE {t.counts} SET answered = answered + 1, cost_micros = cost_micros + 1 "
            "WHERE campaign_id = ? AND part = 0",
            (feed.cid(0),),
        )

    await db.run(corrupt)
    differences = await find_differences(db, nc.jetstream())

    mine = f"campaign {feed.cid(0)}:"
    assert f"{mine} answered is 3, the streams say 2" in differences
    assert f"{mine} in_progress is -1, the streams say 0" in differences
    assert f"{mine} cost is 1.800001, the streams say 1.80" in differences
    assert all(line.startswith(mine) for line in differences)

    completed = await _run_cli(stats.settings, "check")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert f"{mine} answered is 3, the streams say 2" in completed.stdout


async def _run_cli(settings: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """The operator's command in its own process, while this loop keeps serving."""
    env = {
        **os.environ,
        "NATS_URL": settings.nats_url,
        "ZVONAR_DATA_DIR": str(settings.data_dir),
        "STATS_DB_SCHEMA": settings.db_schema,
    }
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    else:
        env.pop("DATABASE_URL", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "zvonar_stats",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return subprocess.CompletedProcess(
        args, process.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")
    )
