"""A report too big for one NATS message, end to end: the real stats service (its read model
seeded directly with > 20,000 call rows, as a long campaign leaves it) answers the real gateway
app over NATS; the report pages, CSV, XLSX and the recordings zip of the API and of the web
page all hold every row, and no reply on the way comes near NATS's 1 MiB.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from openpyxl import load_workbook

from tests.integration.gateway_api.conftest import make_settings
from tests.integration.stats.conftest import T0, Feed, Running
from zvonar_contracts import campaign_events as ev
from zvonar_contracts import queries as q
from zvonar_contracts.subjects import RECORDINGS_BUCKET
from zvonar_gateway.adapters.accounts import AccountStore
from zvonar_gateway.adapters.backend import NatsBackend
from zvonar_gateway.bootstrap import bootstrap
from zvonar_gateway.http.routes.system import HealthProbe
from zvonar_runtime.db import Cursor, Database
from zvonar_stats.adapters.schema import active_tables
from zvonar_stats.domain import rules
from zvonar_stats.service_layer.queries import REPORT_REPLY_BUDGET

pytestmark = pytest.mark.integration

BIG = 20_500  # more rows than the web page charts read, and ~9 MB as one reply
MEDIUM = 6_000  # the web page reads every row of this one for its charts
RECORDED_EVERY = 1_000
# A recognised answer of some length: a row of ~450 bytes, so a chunk is cut by bytes first.
ANSWER = "да, перезвоните мне позже пожалуйста " * 5
_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def seed_calls(campaign_id: int, count: int) -> Any:
    """`count` answered calls of part 0, in seq order; every RECORDED_EVERY-th has a recording
    (and the last one)."""

    def work(cur: Cursor) -> None:
        t = active_tables(cur)
        rows = []
        for n in range(count):
            phone = f"+7916{n:07d}"
            call_id = f"{campaign_id}-0-{phone.lstrip('+')}-1"
            recorded = n % RECORDED_EVERY == 0 or n == count - 1
            rows.append(
                (
                    call_id,
                    10_000_000 + n,
                    campaign_id,
                    0,
                    phone,
                    1,
                    rules.utc_text(T0 + dt.timedelta(seconds=n)),
                    "answered",
                    4.5,
                    "0.60",
                    f"{ANSWER}{n}",
                    0,
                    f"{campaign_id}/{call_id}.wav" if recorded else None,
                )
            )
        cur.executemany(
            f"INSERT INTO {t.calls} (call_id, seq, campaign_id, part, phone, attempt, "
            "started_at, outcome, duration_s, cost, answer_text, lead, recording) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    return work


class Replies:
    """The sizes of every reply the test's connections are sent (request-reply inboxes)."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    async def seen(self, msg: Msg) -> None:
        self.sizes.append(len(msg.data) + len(msg.header or {}))


@pytest.fixture
async def replies(nc: Client) -> AsyncIterator[Replies]:
    watched = Replies()
    subscription = await nc.subscribe("_INBOX.>", cb=watched.seen)
    yield watched
    await subscription.unsubscribe()


@pytest.fixture
async def accounts(tmp_path: Path) -> AsyncIterator[AccountStore]:
    db = Database(dialect="sqlite", sqlite_path=tmp_path / "gateway.sqlite3")
    store = AccountStore(db)
    await store.migrate()
    yield store
    await db.aclose()


@pytest.fixture
async def gateway(nc: Client, accounts: AccountStore, tmp_path: Path) -> AsyncIterator[Any]:
    app = bootstrap(
        settings=make_settings(tmp_path, query_timeout=10.0),
        backend=NatsBackend(nc, query_timeout=10.0),
        accounts=accounts,
        health=HealthProbe(nc),
    )
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1", timeout=120.0
    ) as client:
        yield client


async def a_seeded_campaign(feed: Feed, stats: Running, offset: int, count: int) -> int:
    position = await feed.campaign(
        feed.created(offset, count=count, record=True),
        feed.event(ev.CampaignStarted, offset, started_at=T0),
    )
    cid = feed.cid(offset)
    found = await feed.ask(
        q.GetCampaign(campaign_id=cid, account_id=feed.account, min_position=position)
    )
    assert isinstance(found, q.CampaignDetail)
    assert stats.app is not None
    await stats.app.db.run(seed_calls(cid, count))
    return cid


async def put_recordings(nc: Client, cid: int, count: int) -> list[str]:
    store = await nc.jetstream().object_store(RECORDINGS_BUCKET)
    names = []
    for n in [*range(0, count, RECORDED_EVERY), count - 1]:
        call_id = f"{cid}-0-7916{n:07d}-1"
        await store.put(f"{cid}/{call_id}.wav", b"RIFF" + call_id.encode())
        names.append(f"{call_id}.wav")
    return names


async def test_a_report_of_twenty_thousand_calls_is_served_whole(
    stats: Running,
    feed: Feed,
    nc: Client,
    accounts: AccountStore,
    gateway: httpx.AsyncClient,
    replies: Replies,
) -> None:
    account, key = await accounts.create("Большой отчёт", "Europe/Moscow")
    feed.account = account.id
    cid = await a_seeded_campaign(feed, stats, 0, BIG)
    medium = await a_seeded_campaign(feed, stats, 1, MEDIUM)
    recordings = await put_recordings(nc, cid, BIG)
    auth = {"Authorization": f"Bearer {key}"}
    base = f"/api/v1/campaigns/{cid}"

    # Pages of the API report, the last one included.
    first = await gateway.get(f"{base}/report", params={"per_page": 200}, headers=auth)
    assert first.status_code == 200, first.text
    assert first.json()["total"] == BIG
    assert first.json()["calls"][0]["phone"] == "+79160000000"
    last_page = (BIG + 199) // 200
    last = await gateway.get(
        f"{base}/report", params={"per_page": 200, "page": last_page}, headers=auth
    )
    assert [c["phone"] for c in last.json()["calls"]][-1] == f"+7916{BIG - 1:07d}"
    assert len(last.json()["calls"]) == BIG - (last_page - 1) * 200

    # The CSV: every row, once, in order.
    answer = await gateway.get(f"{base}/report", params={"format": "csv"}, headers=auth)
    assert answer.status_code == 200, answer.text[:300]
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [row["phone"] for row in rows] == [f"+7916{n:07d}" for n in range(BIG)]
    assert rows[-1]["answer_text"] == f"{ANSWER}{BIG - 1}"

    # The XLSX: every row.
    answer = await gateway.get(f"{base}/report", params={"format": "xlsx"}, headers=auth)
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.content), read_only=True).worksheets[0]
    phones = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert phones == [f"+7916{n:07d}" for n in range(BIG)]

    # The recordings zip: every recording, the last row's included.
    answer = await gateway.get(f"{base}/recordings.zip", headers=auth)
    assert answer.status_code == 200
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == sorted(recordings)

    # The web page: its report (charts read every row of a 6,000-call campaign), its CSV
    # and its zip.
    home = await gateway.get("/")
    csrf = _CSRF.search(home.text)
    assert csrf is not None
    signed = await gateway.post("/sign-in", data={"_csrf": csrf[1], "api_key": key})
    assert signed.status_code == 303, signed.text
    page = await gateway.get(f"/campaigns/{medium}/report")
    assert page.status_code == 200, page.text[:500]
    assert 'id="chart-time"' in page.text
    assert f"[{MEDIUM}, 0, 0, 0, 0, 0]" in page.text  # the outcome chart counts every call
    big_page = await gateway.get(f"/campaigns/{cid}/report", params={"page": 2})
    assert big_page.status_code == 200 and "+79160000050" in big_page.text
    web_csv = await gateway.get(f"/campaigns/{cid}/report/download", params={"format": "csv"})
    assert web_csv.status_code == 200
    web_rows = list(csv.DictReader(io.StringIO(web_csv.content.decode("utf-8-sig"))))
    # The page's file speaks the page's language (Russian by default).
    assert len(web_rows) == BIG and web_rows[-1]["Телефон"] == f"+7916{BIG - 1:07d}"
    web_zip = await gateway.get(f"/campaigns/{cid}/recordings.zip")
    with zipfile.ZipFile(io.BytesIO(web_zip.content)) as archive:
        assert sorted(archive.namelist()) == sorted(recordings)

    # Every reply on the way stayed small (the stats replies within their budget).
    assert replies.sizes and max(replies.sizes) <= REPORT_REPLY_BUDGET


async def test_report_rows_are_keyed_and_bounded_over_nats(stats: Running, feed: Feed) -> None:
    cid = await a_seeded_campaign(feed, stats, 0, 2_500)
    seen: list[str] = []
    after: q.ReportKey | None = None
    while True:
        chunk = await feed.ask(
            q.GetReportRows(campaign_id=cid, account_id=feed.account, after=after, limit=5000)
        )
        assert isinstance(chunk, q.ReportRows)
        assert 0 < len(chunk.calls) < 2000  # cut by bytes, not by the row limit
        seen.extend(call.phone for call in chunk.calls)
        if chunk.next is None:
            break
        after = chunk.next
    assert seen == [f"+7916{n:07d}" for n in range(2_500)]
    other = await feed.ask(q.GetReportRows(campaign_id=cid, account_id="acc_someone"))
    assert isinstance(other, q.QueryError) and other.code == "not_found"
    too_many = await feed.ask(
        q.GetReportRows(campaign_id=cid, account_id=feed.account, limit=100_000)
    )
    assert isinstance(too_many, q.QueryError) and too_many.code == "validation"
    every = await feed.ask(q.GetReport(campaign_id=cid, account_id=feed.account, per_page=0))
    assert isinstance(every, q.QueryError) and every.code == "validation"
