"""The report page over HTTP: summary, calls, charts data, CSV, recordings (player, zip)
and their ownership checks, with the stats double answering GetReport."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from nats.aio.client import Client

from tests.integration.gateway_api.conftest import FakeServices
from tests.integration.web.conftest import csrf_of
from tests.integration.web.test_web_pages import create
from tests.report_rows import rows_reply
from zvonar_contracts.queries import CallRow, GetReport, GetReportRows, ReportPage
from zvonar_contracts.subjects import RECORDINGS_BUCKET
from zvonar_gateway.adapters.accounts import AccountStore

WAV = b"RIFF....WAVEfmt fake recording"


def calls(cid: int, account_id: str) -> list[CallRow]:
    start = dt.datetime(2026, 6, 1, 7, 0, tzinfo=dt.UTC)
    return [
        CallRow(
            phone="+79161234500",
            part=0,
            attempt=1,
            started_at=start,
            outcome="answered",
            duration_s=3.8,
            cost=Decimal("2.10"),
            answer_text="да",
            lead=True,
            recording=f"{account_id}/{cid}/call-1.wav",
        ),
        CallRow(
            phone="+79161234506",
            part=0,
            attempt=1,
            started_at=start + dt.timedelta(seconds=4),
            outcome="no_answer",
            duration_s=0.0,
            cost=Decimal("0"),
            answer_text="",
            lead=False,
            recording=None,
        ),
    ]


@pytest.fixture
async def campaign(
    web: httpx.AsyncClient,
    signed_in: str,
    services: FakeServices,
    nc: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> int:
    await create(web, signed_in)
    cid = max(services.campaigns)
    plain = services.query

    def query(q: Any) -> Any:
        if not isinstance(q, GetReport | GetReportRows):
            return plain(q)
        view = services.campaigns[q.campaign_id][0]
        if view.account_id != q.account_id:
            return plain(q)  # the double's not_found path for GetReport
        rows = calls(q.campaign_id, view.account_id)
        if isinstance(q, GetReportRows):
            return rows_reply(view, rows, q)
        shown = rows[(q.page - 1) * q.per_page :][: q.per_page]
        return ReportPage(
            campaign=view, calls=shown, total=len(rows), page=q.page, per_page=q.per_page
        )

    monkeypatch.setattr(services, "query", query)
    store = await nc.jetstream().object_store(RECORDINGS_BUCKET)
    await store.put(recording_of(services, cid), WAV)
    return cid


def recording_of(services: FakeServices, cid: int) -> str:
    """The object name of the campaign's one recording, in its account's folder."""
    return f"{services.campaigns[cid][0].account_id}/{cid}/call-1.wav"


@pytest.fixture
def recording(services: FakeServices, campaign: int) -> str:
    return recording_of(services, campaign)


async def test_the_report_page_shows_summary_calls_and_charts(
    web: httpx.AsyncClient, campaign: int, recording: str
) -> None:
    page = await web.get(f"/campaigns/{campaign}/report")
    assert page.status_code == 200, page.text
    text = page.text
    assert "Акция июнь" in text and "+79161234500" in text and "+79161234506" in text
    assert 'data-counter="size_total"' in text and "Ответил" in text and "Не ответил" in text
    assert 'id="chart-outcomes"' in text and 'id="chart-time"' in text
    assert f'src="/campaigns/{campaign}/recording?name={quote(recording)}"' in text
    assert "/static/web/chart.umd.min.js" in text and "Создана" in text


async def test_the_report_csv_and_the_recordings(
    web: httpx.AsyncClient, campaign: int, recording: str
) -> None:
    csv_file = await web.get(f"/campaigns/{campaign}/report/download", params={"format": "csv"})
    text = csv_file.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Телефон,Часть,Попытка,Начало,Исход")
    assert "+79161234500" in text and f"/campaigns/{campaign}/recording?name=" in text
    xlsx = await web.get(f"/campaigns/{campaign}/report/download", params={"format": "xlsx"})
    assert xlsx.content[:2] == b"PK"
    played = await web.get(f"/campaigns/{campaign}/recording", params={"name": recording})
    assert played.status_code == 200 and played.content == WAV
    archive = await web.get(f"/campaigns/{campaign}/recordings.zip")
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        assert zipped.namelist() == ["call-1.wav"] and zipped.read("call-1.wav") == WAV


async def test_recordings_of_another_campaign_or_account_are_not_served(
    web: httpx.AsyncClient, campaign: int, recording: str, accounts: AccountStore
) -> None:
    elsewhere = await web.get(f"/campaigns/{campaign}/recording", params={"name": "1/other.wav"})
    assert elsewhere.status_code == 404
    climbing = await web.get(
        f"/campaigns/{campaign}/clip", params={"name": f"campaign/{campaign}/../x"}
    )
    assert climbing.status_code == 404
    # Another account signs in on the same browser: the campaign is not theirs.
    _, key = await accounts.create("Чужой", "UTC")
    home = await web.get("/")
    await web.post("/sign-out", data={"_csrf": csrf_of(home.text)})
    page = await web.get("/")
    await web.post("/sign-in", data={"_csrf": csrf_of(page.text), "api_key": key})
    theirs = await web.get(f"/campaigns/{campaign}/recording", params={"name": recording})
    assert theirs.status_code == 404 and theirs.content != WAV
    report = await web.get(f"/campaigns/{campaign}/report")
    assert report.status_code == 404 and "Не найдено" in report.text
