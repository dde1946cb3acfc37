"""The consistency check: every row's six counters and cost recomputed straight from the
streams (up to the sequences the read model has applied) and compared with the read model.
`find_differences` is the core the tests and the reliability suite call."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from nats.js import JetStreamContext
from rich.console import Console
from rich.progress import Progress

from zvonar_contracts import subjects
from zvonar_contracts.call_events import CallEvent
from zvonar_contracts.campaign_events import CampaignStreamEvent
from zvonar_contracts.codec import decode_call_event, decode_campaign_stream_event
from zvonar_contracts.options import Size
from zvonar_runtime.db import Cursor, Database
from zvonar_runtime.jetstream import connect
from zvonar_runtime.natsconn import NatsAuth
from zvonar_stats.adapters.checkpoints import calls_applied, read_checkpoint
from zvonar_stats.adapters.read_model import all_figures
from zvonar_stats.adapters.schema import CAMPAIGN_STREAM_KEY, active_tables, ensure_schema
from zvonar_stats.adapters.streams import read_stream
from zvonar_stats.domain.partitions import CallsApplied
from zvonar_stats.domain.recompute import Figures, recompute
from zvonar_stats.settings import StatsSettings

_FIELDS = ("total", "stop_listed", "answered", "leads", "not_answered", "in_progress")


def _snapshot(cur: Cursor) -> tuple[dict[int, tuple[Size, Decimal]], int, CallsApplied]:
    t = active_tables(cur)
    return (
        all_figures(cur),
        read_checkpoint(cur, t, CAMPAIGN_STREAM_KEY).seq,
        calls_applied(cur, t),
    )


async def find_differences(
    db: Database,
    js: JetStreamContext,
    on_progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> list[str]:
    """What the read model holds that the streams do not say, one line per difference.
    `on_total` learns how many events will be read, `on_progress` each batch read."""
    await db.run(ensure_schema)
    actual, campaign_seq, calls = await db.run(_snapshot)
    if on_total is not None:
        on_total(campaign_seq + calls.last)
    campaign_events: list[CampaignStreamEvent] = []
    async for batch in read_stream(js, subjects.CAMPAIGN_EVENTS_STREAM, end=campaign_seq):
        campaign_events.extend(decode_campaign_stream_event(e.data) for e in batch)
        if on_progress is not None:
            on_progress(len(batch))
    call_events: list[CallEvent] = []
    async for batch in read_stream(js, subjects.CALL_EVENTS_STREAM, end=calls.last):
        call_events.extend(
            decode_call_event(e.data) for e in batch if calls.holds(e.seq, e.subject)
        )
        if on_progress is not None:
            on_progress(len(batch))
    return compare(recompute(campaign_events, call_events), actual)


def compare(expected: dict[int, Figures], actual: dict[int, tuple[Size, Decimal]]) -> list[str]:
    lines: list[str] = []
    for row_id in sorted(expected.keys() | actual.keys()):
        if row_id not in actual:
            lines.append(f"campaign {row_id}: missing from the read model")
            continue
        if row_id not in expected:
            lines.append(f"campaign {row_id}: in the read model, not in the streams")
            continue
        size, cost = actual[row_id]
        want = expected[row_id]
        for name in _FIELDS:
            got, should = getattr(size, name), getattr(want.size, name)
            if got != should:
                lines.append(f"campaign {row_id}: {name} is {got}, the streams say {should}")
        if cost != want.cost:
            lines.append(f"campaign {row_id}: cost is {cost}, the streams say {want.cost}")
    return lines


async def check_cli(settings: StatsSettings) -> list[str]:
    nc = await connect(
        settings.nats_url,
        f"stats-check-{settings.instance_id}",
        auth=NatsAuth.from_settings(settings),
    )
    db = settings.database()
    try:
        # The bar on stderr, only on a terminal (stdout carries the differences).
        console = Console(stderr=True)
        with Progress(console=console, disable=not console.is_terminal) as progress:
            task = progress.add_task("reading both streams", total=None)
            differences = await find_differences(
                db,
                nc.jetstream(),
                on_progress=lambda n: progress.advance(task, n),
                on_total=lambda total: progress.update(task, total=total),
            )
            # The total is the checkpoints' sequences; gaps in them leave the bar short.
            progress.update(task, completed=progress.tasks[0].total or 0)
    finally:
        await db.aclose()
        await nc.close()
    for line in differences:
        print(line)
    print(f"{len(differences)} difference(s)" if differences else "read model consistent")
    return differences
