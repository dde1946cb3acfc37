"""The report page of one campaign: summary, status history, charts, the calls with
paging, their CSV/XLSX, the recordings (player and zip) and the audio clips."""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get
from litestar.params import FromPath
from litestar.response import Stream

from zvonar_contracts.queries import CallRow, GetReport, ReportPage
from zvonar_contracts.subjects import (
    AUDIO_BUCKET,
    RECORDINGS_BUCKET,
    account_folder,
    message_folder,
)
from zvonar_gateway.domain.account import Account
from zvonar_gateway.files import reports
from zvonar_gateway.files.exports import (
    MEDIA_TYPES,
    ExportFormat,
    money,
    money_text,
    page_time,
    phone_cell,
)
from zvonar_gateway.files.reports import campaign_clips, clip_prefix
from zvonar_gateway.service_layer.campaigns import read_detail
from zvonar_gateway.service_layer.errors import ApiError
from zvonar_gateway.service_layer.ports import Backend
from zvonar_gateway.web.auth import backend_of, require_account
from zvonar_gateway.web.history import history_rows
from zvonar_gateway.web.i18n import Words
from zvonar_gateway.web.render import html, words_of
from zvonar_gateway.web.view import (
    calls_over_time,
    local_time,
    row_view,
    size_counters,
)

PER_PAGE = 50
# Charts read every call row; past this many the per-minute chart is left out.
CHART_ROWS = 20_000
_OUTCOMES = ("answered", "no_answer", "busy", "machine", "failed", "stop_listed")
_COLOURS = ("#15803d", "#a16207", "#b45309", "#6b7280", "#c62828", "#4338ca")


async def report_page(
    backend: Backend, account: Account, cid: int, page: int, per_page: int
) -> ReportPage:
    reply = await backend.query(
        GetReport(campaign_id=cid, account_id=account.id, page=page, per_page=per_page)
    )
    if not isinstance(reply, ReportPage):
        raise ApiError(503, "service_unavailable", "the stats service answered out of turn")
    return reply


def page_number(value: str | None) -> int:
    # ASCII digits only: "²" is a digit to isdigit() and no number to int().
    if not (value and value.isascii() and value.isdigit()):
        return 1
    # int() refuses over 4,300 digits; a number that long is past the last page anyway.
    return max(1, min(int(value) if len(value) <= 4000 else 1_000_000, 1_000_000))


def recording_url(cid: int, name: str | None) -> str | None:
    return f"/campaigns/{cid}/recording?name={quote(name)}" if name else None


async def every_call(backend: Backend, account: Account, cid: int) -> list[CallRow]:
    """Every call row of the report, read chunk after chunk (for the charts, small reports)."""
    calls: list[CallRow] = []
    async for chunk in reports.report_chunks(
        backend, account.id, await reports.report_rows(backend, account.id, cid)
    ):
        calls.extend(chunk.calls)
    return calls


def _charts(every: list[CallRow] | None, words: Words, tz: str) -> tuple[str, str | None]:
    counts = Counter(str(call.outcome) for call in every) if every else Counter()
    outcome_chart = {
        "type": "doughnut",
        "data": {
            "labels": [words.outcome(o) for o in _OUTCOMES],
            "datasets": [
                {"data": [counts.get(o, 0) for o in _OUTCOMES], "backgroundColor": list(_COLOURS)}
            ],
        },
        "options": {"responsive": True, "maintainAspectRatio": False, "animation": False},
    }
    if every is None:
        return json.dumps(outcome_chart), None
    labels, values = calls_over_time([c.started_at for c in every if c.started_at], tz)
    time_chart = {
        "type": "bar",
        "data": {
            "labels": labels,
            "datasets": [
                {
                    "label": words("calls"),
                    "data": values,
                    "backgroundColor": "#1d5fd1",
                    # Bars side by side, as on a time line: a quiet stretch is a gap.
                    "barPercentage": 1.0,
                    "categoryPercentage": 1.0,
                }
            ],
        },
        "options": {
            "responsive": True,
            "maintainAspectRatio": False,
            "animation": False,
            "plugins": {"legend": {"display": False}},
            "scales": {
                "x": {"ticks": {"autoSkip": True, "maxRotation": 0}},
                "y": {"beginAtZero": True, "ticks": {"precision": 0}},
            },
        },
    }
    return json.dumps(outcome_chart), json.dumps(time_chart)


@get("/campaigns/{campaign_id:int}/report", include_in_schema=False)
async def report(request: Request[Any, Any, Any], campaign_id: FromPath[int]) -> Response[str]:
    account = await require_account(request)
    backend, words, tz = backend_of(request), words_of(request), account.timezone
    page_no = page_number(request.query_params.get("page"))
    detail = await read_detail(backend, account.id, campaign_id)
    page = await report_page(backend, account, campaign_id, page_no, PER_PAGE)
    every = await every_call(backend, account, campaign_id) if page.total <= CHART_ROWS else None
    outcome_chart, time_chart = _charts(every, words, tz)
    # Too many rows to read them all here: the zip is offered and says so itself if empty.
    has_recordings = any(c.recording for c in every) if every is not None else page.total > 0
    # The clips the API's GET /campaigns/{id}/audio lists, read the same way (a smart part
    # plays its main campaign's message).
    prefix, clips = clip_prefix(detail.campaign), await campaign_clips(backend, detail.campaign)
    calls = [
        {
            "phone": c.phone,
            "part": c.part,
            "attempt": c.attempt,
            "started": local_time(c.started_at, tz),
            "outcome": words.outcome(str(c.outcome)),
            "duration": f"{c.duration_s:.1f}",
            "cost": money_text(c.cost),
            "answer": c.answer_text,
            "lead": c.lead,
            "recording": recording_url(campaign_id, c.recording),
        }
        for c in page.calls
    ]
    return html(
        request,
        "report.html",
        account=account,
        row=row_view(detail.campaign, tz, words),
        counters=size_counters(detail.campaign),
        history=history_rows(detail.history, tz, words),
        calls=calls,
        total=page.total,
        page=page.page,
        pages=max(1, math.ceil(page.total / PER_PAGE)),
        outcome_chart=outcome_chart,
        has_recordings=has_recordings,
        time_chart=time_chart,
        clips=[
            (name, f"{duration:.1f}", f"/campaigns/{campaign_id}/clip?name={quote(prefix + name)}")
            for name, duration in clips
        ],
    )


@get("/campaigns/{campaign_id:int}/report/download", include_in_schema=False)
async def report_download(request: Request[Any, Any, Any], campaign_id: FromPath[int]) -> Stream:
    account = await require_account(request)
    backend = backend_of(request)
    fmt: ExportFormat = "xlsx" if request.query_params.get("format") == "xlsx" else "csv"
    first = await reports.report_rows(backend, account.id, campaign_id)
    base = str(request.base_url).rstrip("/")
    words = words_of(request)

    def url_of(name: str | None) -> str | None:
        url = recording_url(campaign_id, name)
        return f"{base}{url}" if url else None

    def row(call: CallRow, url: str | None) -> list[Any]:
        return page_report_row(call, account.timezone, url, words)

    content = await reports.report_file(
        backend,
        account.id,
        account.timezone,
        first,
        fmt,
        url_of,
        columns=report_columns(words),
        row=row,
    )
    # Litestar adds "; charset=utf-8" to a text/ type itself: name the type alone.
    media = "text/csv" if fmt == "csv" else MEDIA_TYPES["xlsx"]
    return Stream(
        content,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="report-{campaign_id}.{fmt}"'},
    )


_REPORT_HEADERS = (
    "phone",
    "part",
    "attempt",
    "started",
    "outcome",
    "duration",
    "cost_total",
    "answer",
    "lead",
    "recording",
)


def report_columns(words: Words) -> tuple[str, ...]:
    """The report file's header in the page's language (Russian by default)."""
    return tuple(words(key) for key in _REPORT_HEADERS)


def page_report_row(call: CallRow, tz: str, url: str | None, words: Words) -> list[Any]:
    """A call as the page's file shows it: labels in the page's language, local time as the
    page writes it, numbers as numbers (the cost a decimal, written as a numeric cell)."""
    return [
        phone_cell(call.phone),
        call.part,
        call.attempt,
        page_time(call.started_at, tz) if call.started_at else None,
        words.outcome(str(call.outcome)),
        round(call.duration_s, 1),
        money(call.cost),
        call.answer_text,
        words("yes") if call.lead else words("no"),
        url,
    ]


@get("/campaigns/{campaign_id:int}/recording", include_in_schema=False)
async def recording(request: Request[Any, Any, Any], campaign_id: FromPath[int]) -> Response[bytes]:
    account = await require_account(request)
    name = request.query_params.get("name") or ""
    # Ownership first: the read answers not_found for another account's campaign.
    detail = await read_detail(backend_of(request), account.id, campaign_id)
    main_id = detail.campaign.parent_id or campaign_id  # a smart part's calls are its main's
    if not name.startswith(f"{account_folder(account.id)}{main_id}/") or ".." in name:
        raise ApiError(404, "not_found", "no such recording")
    data = await backend_of(request).get_object(RECORDINGS_BUCKET, name)
    return Response(data, media_type="audio/wav")


@get("/campaigns/{campaign_id:int}/clip", include_in_schema=False)
async def clip(request: Request[Any, Any, Any], campaign_id: FromPath[int]) -> Response[bytes]:
    account = await require_account(request)
    name = request.query_params.get("name") or ""
    detail = await read_detail(backend_of(request), account.id, campaign_id)
    folder = message_folder(account.id, detail.campaign.parent_id or campaign_id)
    if not name.startswith(folder) or ".." in name:
        raise ApiError(404, "not_found", "no such clip")
    data = await backend_of(request).get_object(AUDIO_BUCKET, name)
    return Response(data, media_type="audio/wav")


@get("/campaigns/{campaign_id:int}/recordings.zip", include_in_schema=False)
async def recordings_zip(request: Request[Any, Any, Any], campaign_id: FromPath[int]) -> Stream:
    account = await require_account(request)
    backend = backend_of(request)
    first = await reports.report_rows(backend, account.id, campaign_id)
    if first.next is None and not any(c.recording for c in first.calls):
        # Nothing to download: said on a page, not an empty archive.
        words = words_of(request)
        return html(  # type: ignore[return-value]
            request, "error.html", status_code=404, message=words("no_recordings"), status=404
        )
    return Stream(
        reports.recordings_zip(backend, account.id, first),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="recordings-{campaign_id}.zip"'},
    )


@get("/campaigns/{campaign_id:int}/clips", include_in_schema=False)
async def clips_dialog(
    request: Request[Any, Any, Any], campaign_id: FromPath[int]
) -> Response[str]:
    """The dialog "Прослушать записи": a player for every audio clip of the campaign."""
    account = await require_account(request)
    backend = backend_of(request)
    detail = await read_detail(backend, account.id, campaign_id)
    main_id = detail.campaign.parent_id or campaign_id  # a smart part plays its main's message
    found = await backend.list_objects(AUDIO_BUCKET, message_folder(account.id, main_id))
    clips = [
        (name.rsplit("/", 1)[-1], f"/campaigns/{campaign_id}/clip?name={quote(name)}")
        for name, _ in found
    ]
    return html(request, "_clips.html", clips=clips, campaign_id=campaign_id)


HANDLERS = [report, report_download, recording, clip, recordings_zip, clips_dialog]
