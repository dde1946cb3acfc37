"""HTTP endpoints of the file side: audio upload, report (JSON/CSV/XLSX), recordings (one WAV
or a streamed zip), the campaign's audio clips and the export of list rows.

Every endpoint is scoped to the account: the campaign is read from stats with the account's
id, so another account's campaign is a 404 before any object is touched.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, Operation
from litestar.params import FromPath, JSONBody, MultipartBody, QueryParameter
from litestar.response import Stream

from zvonar_contracts.call_events import Outcome
from zvonar_contracts.queries import CampaignPage, CampaignView, ListCampaigns, ReportPage
from zvonar_contracts.subjects import AUDIO_BUCKET, RECORDINGS_BUCKET, uploaded_audio_object
from zvonar_gateway.domain.account import Account
from zvonar_gateway.files.audio import (
    MAX_AUDIO_BYTES,
    AudioRejected,
    AudioTooLarge,
    AudioTooLong,
    check_audio,
    new_file_id,
)
from zvonar_gateway.files.exports import (
    CAMPAIGN_COLUMNS,
    MEDIA_TYPES,
    CsvWriter,
    ExportFormat,
    XlsxWriter,
    campaign_row,
    read_chunks,
)
from zvonar_gateway.files.reports import (
    call_id_of_recording,
    campaign_clips,
    campaign_of,
    clip_prefix,
    recording_object,
    recordings_zip,
    report_file,
    report_page,
    report_rows,
)
from zvonar_gateway.http.openapi import inline_schema
from zvonar_gateway.http.providers import BackendDep
from zvonar_gateway.http.render import render_campaign, render_money, render_time
from zvonar_gateway.service_layer.errors import ApiError
from zvonar_gateway.service_layer.ports import Backend

# The list's page size rules (docs/API.md) hold for the report too.
MAX_PER_PAGE = 200
MAX_EXPORT_IDS = 10_000
# Leave room above 20 MB for the multipart envelope so the audio check, not the framework,
# says what is wrong with a file just over the limit.
AUDIO_BODY_LIMIT = MAX_AUDIO_BYTES + 4 * 1024 * 1024
MAX_CAMPAIGN_ID = 2**53

PageNumber = Annotated[int, QueryParameter(ge=1, le=1_000_000, description="from 1")]
PerPage = Annotated[int, QueryParameter(ge=1, le=MAX_PER_PAGE, description="1..200")]
ReportFormat = Annotated[
    Literal["json", "csv", "xlsx"],
    QueryParameter(description="json (paged) or a file of every row"),
]


class FileStream(Stream):
    """A streamed file whose own media type wins: Litestar's Stream lets the handler's
    declared type (JSON for the report, which answers JSON or a file) override it."""

    def to_asgi_response(self, *args: Any, media_type: Any = None, **kwargs: Any) -> Any:
        return super().to_asgi_response(*args, media_type=self.media_type or media_type, **kwargs)


def _not_found(campaign_id: int) -> ApiError:
    return ApiError(404, "not_found", f"no campaign {campaign_id}")


def _checked_id(campaign_id: int) -> int:
    if not 1 <= campaign_id <= MAX_CAMPAIGN_ID:
        raise _not_found(campaign_id)
    return campaign_id


def _base_url(request: Request[Any, Any, Any]) -> str:
    return str(request.base_url).rstrip("/")


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def answers_operation(content: dict[str, dict[str, Any]]) -> type[Operation]:
    """An Operation whose 200 answer may be any of `content` (media type → JSON schema):
    Litestar documents one media type per handler, the report and export answer files."""

    @dataclass
    class AnswersOperation(Operation):
        def __post_init__(self) -> None:
            media = {
                media_type: OpenAPIMediaType(schema=schema)  # type: ignore[arg-type]
                for media_type, schema in content.items()
            }
            responses = self.responses if self.responses is not None else {}
            responses["200"] = OpenAPIResponse(description="the answer", content=media)
            self.responses = responses

    return AnswersOperation


FILE_SCHEMAS: dict[str, dict[str, Any]] = {
    "text/csv": {"type": "string"},
    MEDIA_TYPES["xlsx"]: {"type": "string", "format": "binary"},
}


# --- audio upload --------------------------------------------------------------------------


@dataclass
class AudioUpload:
    file: UploadFile


class UploadedAudio(msgspec.Struct, frozen=True):
    file_id: str  # the name in the account's folder of bucket `audio` (FileAudio.file_id)
    duration_s: float
    format: Literal["wav", "mp3"]


@post(
    "/api/v1/audio",
    status_code=201,
    tags=["audio"],
    summary="Upload a WAV or MP3 message (multipart field `file`, up to 20 MB)",
    request_max_body_size=AUDIO_BODY_LIMIT,
)
async def upload_audio(
    data: MultipartBody[AudioUpload],
    account: NamedDependency[Account],
    backend: BackendDep,
) -> UploadedAudio:
    content = await data.file.read()
    try:
        check = await asyncio.to_thread(check_audio, content)
    except AudioTooLarge as exc:
        raise ApiError(413, "payload_too_large", str(exc)) from exc
    except AudioRejected as exc:
        details = [{"field": "file", "message": str(exc)}]
        message = (
            "the audio is over the limits (10 minutes, 200 MB of PCM)"
            if isinstance(exc, AudioTooLong)
            else "the file is not WAV or MP3 audio that plays as its header says"
        )
        raise ApiError(422, "validation", message, details) from exc
    file_id = new_file_id()
    await backend.put_object(AUDIO_BUCKET, uploaded_audio_object(account.id, file_id), content)
    return UploadedAudio(file_id=file_id, duration_s=check.duration_s, format=check.format)


# --- report --------------------------------------------------------------------------------


class ReportCall(msgspec.Struct, frozen=True):
    phone: str
    part: int
    attempt: int
    started_at: str | None
    outcome: Outcome
    duration_s: float
    cost: str
    answer_text: str
    lead: bool
    recording_url: str | None


class ReportAnswer(msgspec.Struct, frozen=True):
    campaign: dict[str, Any]
    calls: list[ReportCall]
    total: int
    page: int
    per_page: int


def _call_json(view: CampaignView, page: ReportPage, tz: str, base: str) -> list[ReportCall]:
    return [
        ReportCall(
            phone=call.phone,
            part=call.part,
            attempt=call.attempt,
            started_at=render_time(call.started_at, tz),
            outcome=call.outcome,
            duration_s=call.duration_s,
            cost=render_money(call.cost),
            answer_text=call.answer_text,
            lead=call.lead,
            recording_url=_recording_url(view, call.recording, base),
        )
        for call in page.calls
    ]


def _recording_url(view: CampaignView, recording: str | None, base: str) -> str | None:
    if recording is None:
        return None
    return f"{base}/api/v1/campaigns/{view.id}/recordings/{call_id_of_recording(recording)}.wav"


async def _report_file(
    backend: Backend, account: Account, campaign_id: int, fmt: ExportFormat, base: str
) -> FileStream:
    first = await report_rows(backend, account.id, campaign_id)
    view = first.campaign
    content = await report_file(
        backend,
        account.id,
        account.timezone,
        first,
        fmt,
        lambda recording: _recording_url(view, recording, base),
    )
    return FileStream(
        content, media_type=MEDIA_TYPES[fmt], headers=_attachment(f"report-{view.id}.{fmt}")
    )


@get(
    "/api/v1/campaigns/{campaign_id:int}/report",
    tags=["report"],
    summary="The campaign's calls: JSON paged like the list, or ?format=csv|xlsx for every row",
    operation_class=answers_operation(
        {"application/json": inline_schema(ReportAnswer), **FILE_SCHEMAS}
    ),
)
async def campaign_report(
    request: Request[Any, Any, Any],
    campaign_id: FromPath[int],
    account: NamedDependency[Account],
    backend: BackendDep,
    page: PageNumber = 1,
    per_page: PerPage = 50,
    format: ReportFormat = "json",
) -> ReportAnswer | FileStream:
    _checked_id(campaign_id)
    base = _base_url(request)
    if format != "json":
        return await _report_file(backend, account, campaign_id, format, base)
    reply = await report_page(backend, account.id, campaign_id, page, per_page)
    return ReportAnswer(
        campaign=msgspec.to_builtins(render_campaign(reply.campaign, account.timezone)),
        calls=_call_json(reply.campaign, reply, account.timezone, base),
        total=reply.total,
        page=reply.page,
        per_page=reply.per_page,
    )


# --- recordings ----------------------------------------------------------------------------


@get(
    "/api/v1/campaigns/{campaign_id:int}/recordings/{file_name:str}",
    tags=["report"],
    summary="One call's recording as WAV (`<call_id>.wav`)",
    media_type="audio/wav",
)
async def call_recording(
    campaign_id: FromPath[int],
    file_name: FromPath[str],
    account: NamedDependency[Account],
    backend: BackendDep,
) -> Response[bytes]:
    campaign = await campaign_of(backend, account.id, _checked_id(campaign_id))
    name = recording_object(campaign, file_name.removesuffix(".wav"))
    if name is None or not file_name.endswith(".wav"):
        raise ApiError(404, "not_found", f"no recording {file_name} in campaign {campaign_id}")
    data = await backend.get_object(RECORDINGS_BUCKET, name)
    return Response(data, media_type="audio/wav")


@get(
    "/api/v1/campaigns/{campaign_id:int}/recordings.zip",
    tags=["report"],
    summary="Every recording of the campaign in one zip, streamed",
    media_type="application/zip",
)
async def recordings_archive(
    campaign_id: FromPath[int], account: NamedDependency[Account], backend: BackendDep
) -> FileStream:
    first = await report_rows(backend, account.id, _checked_id(campaign_id))
    return FileStream(
        recordings_zip(backend, account.id, first),
        media_type="application/zip",
        headers=_attachment(f"recordings-{campaign_id}.zip"),
    )


# --- audio clips ---------------------------------------------------------------------------


class AudioClip(msgspec.Struct, frozen=True):
    name: str
    url: str
    duration_s: float


@get(
    "/api/v1/campaigns/{campaign_id:int}/audio",
    tags=["audio"],
    summary="The campaign's audio clips; each url answers audio/wav",
)
async def audio_clips(
    request: Request[Any, Any, Any],
    campaign_id: FromPath[int],
    account: NamedDependency[Account],
    backend: BackendDep,
) -> list[AudioClip]:
    campaign = await campaign_of(backend, account.id, _checked_id(campaign_id))
    base = f"{_base_url(request)}/api/v1/campaigns/{campaign_id}/audio"
    return [
        AudioClip(name=name, url=f"{base}/{name}", duration_s=duration)
        for name, duration in await campaign_clips(backend, campaign)
    ]


@get(
    "/api/v1/campaigns/{campaign_id:int}/audio/{name:str}",
    tags=["audio"],
    summary="One audio clip of the campaign as WAV",
    media_type="audio/wav",
)
async def audio_clip(
    campaign_id: FromPath[int],
    name: FromPath[str],
    account: NamedDependency[Account],
    backend: BackendDep,
) -> Response[bytes]:
    campaign = await campaign_of(backend, account.id, _checked_id(campaign_id))
    if "/" in name or not name.endswith(".wav"):
        raise ApiError(404, "not_found", f"no audio clip {name}")
    data = await backend.get_object(AUDIO_BUCKET, clip_prefix(campaign) + name)
    return Response(data, media_type="audio/wav")


# --- export of list rows -------------------------------------------------------------------


class ExportBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    ids: Annotated[list[int], msgspec.Meta(min_length=1, max_length=MAX_EXPORT_IDS)]
    format: ExportFormat = "csv"


async def _rows_of(backend: Backend, account: Account, ids: list[int]) -> list[CampaignView]:
    wanted = sorted({i for i in ids if 1 <= i <= MAX_CAMPAIGN_ID}, reverse=True)
    views: list[CampaignView] = []
    for start in range(0, len(wanted), MAX_PER_PAGE):
        chunk = wanted[start : start + MAX_PER_PAGE]
        reply = await backend.query(
            ListCampaigns(account_id=account.id, ids=chunk, per_page=MAX_PER_PAGE)
        )
        if isinstance(reply, CampaignPage):
            views.extend(reply.items)
    return sorted(views, key=lambda view: view.id, reverse=True)


@post(
    "/api/v1/campaigns/export",
    status_code=200,
    tags=["campaigns"],
    summary="The selected list rows as a CSV or XLSX file",
    operation_class=answers_operation(FILE_SCHEMAS),
)
async def export_campaigns(
    data: JSONBody[ExportBody], account: NamedDependency[Account], backend: BackendDep
) -> FileStream:
    views = await _rows_of(backend, account, data.ids)
    rows = [campaign_row(view, account.timezone) for view in views]
    if data.format == "csv":
        writer = CsvWriter(CAMPAIGN_COLUMNS)
        content: Any = [writer.header() + writer.rows(rows)]
    else:
        xlsx = XlsxWriter("Рассылки", CAMPAIGN_COLUMNS)
        await asyncio.to_thread(xlsx.append, rows)
        content = read_chunks(await asyncio.to_thread(xlsx.save))
    return FileStream(
        content,
        media_type=MEDIA_TYPES[data.format],
        headers=_attachment(f"campaigns.{data.format}"),
    )


HANDLERS: list[Any] = [
    upload_audio,
    campaign_report,
    call_recording,
    recordings_archive,
    audio_clips,
    audio_clip,
    export_campaigns,
]
