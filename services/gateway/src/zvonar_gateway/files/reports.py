"""Reading a campaign's report, recordings and audio clips through the backend, in pieces.

A report can hold millions of call rows and a recording archive gigabytes of WAV: rows are
read from the stats service a chunk at a time (GetReportRows: a keyset read, and a reply the
stats service keeps well under NATS's 1 MiB message limit) and recordings one object at a
time, so the gateway never holds a whole report or archive in memory.
"""

from __future__ import annotations

import asyncio
import zipfile
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

import structlog

from zvonar_contracts import keys
from zvonar_contracts.queries import (
    CallRow,
    CampaignView,
    GetCampaign,
    GetReport,
    GetReportRows,
    ReportPage,
    ReportRows,
)
from zvonar_contracts.subjects import AUDIO_BUCKET, RECORDINGS_BUCKET
from zvonar_gateway.files.audio import AudioRejected, clip_duration
from zvonar_gateway.files.exports import (
    REPORT_COLUMNS,
    CsvWriter,
    ExportFormat,
    XlsxWriter,
    read_chunks,
    report_row,
)
from zvonar_gateway.service_layer.errors import ApiError
from zvonar_gateway.service_layer.ports import Backend

log = structlog.get_logger("zvonar.gateway.files")

# Rows asked for in one chunk (the stats service may send fewer to keep a reply small).
REPORT_CHUNK_ROWS = 5000


async def campaign_of(backend: Backend, account_id: str, campaign_id: int) -> CampaignView:
    """The account's campaign, or 404 (another account's campaign is not revealed)."""
    detail = await backend.query(GetCampaign(campaign_id=campaign_id, account_id=account_id))
    campaign = getattr(detail, "campaign", None)
    if not isinstance(campaign, CampaignView):
        raise ApiError(404, "not_found", f"no campaign {campaign_id}")
    return campaign


async def report_page(
    backend: Backend, account_id: str, campaign_id: int, page: int, per_page: int
) -> ReportPage:
    reply = await backend.query(
        GetReport(campaign_id=campaign_id, account_id=account_id, page=page, per_page=per_page)
    )
    if not isinstance(reply, ReportPage):
        raise ApiError(503, "service_unavailable", "the stats service answered out of turn")
    return reply


async def report_rows(
    backend: Backend, account_id: str, campaign_id: int, after: ReportRows | None = None
) -> ReportRows:
    """The first chunk of the report's rows, or the one after `after`."""
    reply = await backend.query(
        GetReportRows(
            campaign_id=campaign_id,
            account_id=account_id,
            after=None if after is None else after.next,
            limit=REPORT_CHUNK_ROWS,
        )
    )
    if not isinstance(reply, ReportRows):
        raise ApiError(503, "service_unavailable", "the stats service answered out of turn")
    return reply


async def report_chunks(
    backend: Backend, account_id: str, first: ReportRows
) -> AsyncIterator[ReportRows]:
    """The first chunk (already read, so that a 404 comes before a file starts) and the rest,
    one request at a time."""
    chunk = first
    while True:
        yield chunk
        if chunk.next is None:
            return
        chunk = await report_rows(backend, account_id, first.campaign.id, chunk)


async def report_file(
    backend: Backend,
    account_id: str,
    tz: str,
    first: ReportRows,
    fmt: ExportFormat,
    recording_url: Callable[[str | None], str | None],
    *,
    columns: Sequence[str] = REPORT_COLUMNS,
    row: Callable[[CallRow, str | None], list[Any]] | None = None,
) -> AsyncIterator[bytes] | Iterator[bytes]:
    """The bytes of the report's CSV (produced chunk by chunk as rows come) or XLSX (rows
    written to openpyxl's write-only sheet as they come, the file spooled to disk). `columns`
    and `row` (a call and its recording's URL) shape the file; the API's by default."""

    def one(call: CallRow) -> list[Any]:
        url = recording_url(call.recording)
        return row(call, url) if row is not None else report_row(call, tz, url)

    def rows(chunk: ReportRows) -> list[list[Any]]:
        return [one(call) for call in chunk.calls]

    chunks = report_chunks(backend, account_id, first)
    if fmt == "csv":
        writer = CsvWriter(tuple(columns))

        async def csv_chunks() -> AsyncIterator[bytes]:
            yield writer.header()
            async for chunk in chunks:
                yield writer.rows(rows(chunk))

        return csv_chunks()
    # openpyxl is CPU work: a big report would hold up every other request on the loop.
    xlsx = XlsxWriter("Отчет", tuple(columns))
    async for chunk in chunks:
        await asyncio.to_thread(xlsx.append, rows(chunk))
    return read_chunks(await asyncio.to_thread(xlsx.save))


call_id_of_recording = keys.call_id_of_recording


def recording_object(campaign: CampaignView, call_id: str) -> str | None:
    """The object name of a call's recording when the call belongs to this campaign (a smart
    part's calls are filed under its main campaign); None otherwise."""
    parsed = keys.parse_call_id(call_id)
    if parsed is None or parsed.campaign_id not in (campaign.id, campaign.parent_id):
        return None
    return keys.recording_object(campaign.account_id, parsed.campaign_id, call_id)


class _ZipSink:
    """A write-only file for zipfile whose bytes are taken out after each member."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


async def recordings_zip(
    backend: Backend, account_id: str, first: ReportRows
) -> AsyncIterator[bytes]:
    """A zip of every recording of the report, produced member by member (each call row has
    a call id of its own, so each recording comes once)."""
    sink = _ZipSink()
    # WAV barely compresses; storing keeps the CPU for the calls.
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED) as archive:
        async for chunk in report_chunks(backend, account_id, first):
            for call in chunk.calls:
                if call.recording is None:
                    continue
                try:
                    data = await backend.get_object(RECORDINGS_BUCKET, call.recording)
                except ApiError as exc:
                    if exc.status_code != 404:
                        raise
                    log.warning("recording_missing", recording=call.recording)
                    continue
                archive.writestr(f"{call_id_of_recording(call.recording)}.wav", data)
                yield sink.take()
    yield sink.take()


def clip_prefix(campaign: CampaignView) -> str:
    """A smart part plays its main campaign's message."""
    return keys.message_folder(campaign.account_id, campaign.parent_id or campaign.id)


async def campaign_clips(backend: Backend, campaign: CampaignView) -> list[tuple[str, float]]:
    """(name, duration) of each WAV clip the dialer stored for the campaign."""
    prefix = clip_prefix(campaign)
    clips: list[tuple[str, float]] = []
    for name, _size in await backend.list_objects(AUDIO_BUCKET, prefix):
        if not name.endswith(".wav"):
            continue
        try:
            data = await backend.get_object(AUDIO_BUCKET, name)
            duration = await asyncio.to_thread(clip_duration, data)
        except AudioRejected:
            log.warning("clip_unreadable", clip=name)
            continue
        clips.append((name.removeprefix(prefix), duration))
    return clips
