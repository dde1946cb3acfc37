"""stats_list: the list query's p50/p99 over 100,000 campaigns of one account on
PostgreSQL, for the shapes the web page asks: the first page, a deep page, a name search
(Cyrillic, via the trigram index), an id, a status, a tag pair and a date range. Timed
through the service's query handler (validation, SQL, views), not over the wire.

`uv run python -m bench.stats_list [--quick]` prints the figures and writes
bench/results/stats_list.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import RESULTS_DIR, machine, percentile, postgres_database
from zvonar_contracts.campaign_events import CampaignCreated
from zvonar_contracts.options import (
    CallerIdRouting,
    CampaignOptions,
    CarouselRouting,
    FileAudio,
    PhoneBaseRef,
    SmartOptions,
    Status,
    Tag,
    TtsAudio,
)
from zvonar_contracts.queries import CampaignPage, ListCampaigns
from zvonar_runtime.db import Cursor, Database
from zvonar_stats.adapters.campaign_projection import INSERT_ROW, created_row, recount_accounts
from zvonar_stats.adapters.schema import active_tables
from zvonar_stats.adapters.store import SqlStore
from zvonar_stats.service_layer.projection import Projector
from zvonar_stats.service_layer.queries import QueryService

ACCOUNT = "acc_bench"
# The first campaign id of the filled rows (the campaign service numbers from 1,000,001:
# a bench that fills the read model of a running stack passes ids of its own).
FIRST_ID = 1_000_001
GOAL_P99_MS = 50.0
WORDS = (
    "Акция",
    "Распродажа",
    "Напоминание",
    "Опрос",
    "Скидки",
    "Доставка",
    "Запись",
    "Новости",
    "Clinic",
    "Sale",
)
STATUSES = (Status.FINISHED, Status.IN_PROGRESS, Status.STOPPED, Status.PAUSED, Status.ERROR)
T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def _campaign(i: int, account: str | None = None, first_id: int = FIRST_ID) -> CampaignCreated:
    """The i-th campaign: of `account` when given, else of ACCOUNT (nine in ten) and a few
    other accounts."""
    options = CampaignOptions(
        name=f"{WORDS[i % len(WORDS)]} {WORDS[(i // 10) % len(WORDS)].lower()} №{i}",
        audio=TtsAudio(text="Привет") if i % 3 else FileAudio(file_id="upload/x"),
        routing=CallerIdRouting(number=f"+7495{i:07d}") if i % 5 == 0 else CarouselRouting(),
        smart=SmartOptions(parts=2) if i % 4 == 0 else None,
        record=i % 2 == 0,
        amd=i % 6 == 0,
    )
    return CampaignCreated(
        campaign_id=first_id + i,
        account_id=account or (ACCOUNT if i % 10 else f"acc_other_{i % 7}"),
        at=T0 + dt.timedelta(minutes=5 * i),
        options=options,
        account_tz="Europe/Moscow",
        phones=PhoneBaseRef(bucket="phone-bases", name="b", count=1000 + i % 500, sha256="b"),
    )


def _fill(
    cur: Cursor, start: int, stop: int, account: str | None = None, first_id: int = FIRST_ID
) -> None:
    t = active_tables(cur)
    rows = [created_row(_campaign(i, account, first_id)) for i in range(start, stop)]
    cur.executemany(INSERT_ROW.format(table=t.campaigns), rows)
    cur.executemany(
        f"UPDATE {t.campaigns} SET status = ? WHERE id = ?",
        [(str(STATUSES[i % len(STATUSES)]), first_id + i) for i in range(start, stop, 3)],
    )
    accounts = {_campaign(i, account).account_id for i in range(start, min(start + 10, stop))}
    recount_accounts(cur, t, accounts)


def _queries(
    count: int, account: str = ACCOUNT, first_id: int = FIRST_ID
) -> dict[str, ListCampaigns]:
    middle = T0 + dt.timedelta(minutes=5 * count // 2)
    return {
        "first_page": ListCampaigns(account_id=account),
        "page_100": ListCampaigns(account_id=account, page=100),
        "search_name": ListCampaigns(account_id=account, q="распродажа опрос"),
        "search_rare": ListCampaigns(account_id=account, q=f"№{count - 7}"),
        "search_id": ListCampaigns(account_id=account, q=str(first_id + count // 3)),
        "status": ListCampaigns(account_id=account, statuses=[Status.ERROR, Status.PAUSED]),
        "tags": ListCampaigns(account_id=account, tags=[Tag.SMART, Tag.RECORDING]),
        "dates": ListCampaigns(
            account_id=account, created_from=middle, created_to=middle + dt.timedelta(days=3)
        ),
    }


async def run(quick: bool = False) -> dict[str, Any]:
    count = 100_000
    rounds = 30 if quick else 100
    with tempfile.TemporaryDirectory() as store, postgres_database() as pg_url:
        db = Database.from_settings(pg_url, Path(store) / "unused", "stats")
        try:
            projector = Projector(SqlStore(db))
            await projector.open()
            for start in range(0, count, 5000):
                await db.run(lambda cur, s=start: _fill(cur, s, min(s + 5000, count)))  # type: ignore[misc]
            await db.run(lambda cur: cur.execute("ANALYZE"))
            service = QueryService(SqlStore(db), projector)
            timings: dict[str, list[float]] = {}
            totals: dict[str, int] = {}
            for name, query in _queries(count).items():
                for _ in range(rounds):
                    started = time.perf_counter()
                    reply = await service.handle(query)
                    timings.setdefault(name, []).append((time.perf_counter() - started) * 1000)
                assert isinstance(reply, CampaignPage), reply
                totals[name] = reply.total
        finally:
            await db.aclose()
    every = [ms for values in timings.values() for ms in values]
    p50, p99 = percentile(every, 50), percentile(every, 99)
    shapes = {
        name: {"p50_ms": percentile(v, 50), "p99_ms": percentile(v, 99), "rows": totals[name]}
        for name, v in timings.items()
    }
    return {
        "what": f"list query over {count:,} campaigns, PG ({len(shapes)} shapes)",
        "figure": p99,
        "unit": "ms p99",
        "p50_ms": p50,
        "p99_ms": p99,
        "goal": f"p99 ≤ {GOAL_P99_MS:.0f} ms",
        "met": p99 <= GOAL_P99_MS,
        "campaigns": count,
        "shapes": shapes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stats_list")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    figures = asyncio.run(run(args.quick))
    for name, shape in figures["shapes"].items():
        print(
            f"{name:12} p50 {shape['p50_ms']:7.2f} ms  p99 {shape['p99_ms']:7.2f} ms  "
            f"({shape['rows']:,} rows match)"
        )
    print(
        f"all shapes: p50 {figures['p50_ms']:.2f} ms  p99 {figures['p99_ms']:.2f} ms "
        f"over {figures['campaigns']:,} campaigns (goal {figures['goal']})"
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / "stats_list.json"
    body = {**figures, "quick": args.quick, "machine": machine(), "at": time.time()}
    out.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
