"""The create page: the form, its submission through the API's own validation and use
case (`service_layer.campaigns`), the TTS preview through the dialer, and the expected
cost of the base (`service_layer.quotes`) shown as numbers and audio are chosen."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import re
import secrets
from typing import Any

from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.params import FromPath
from markupsafe import escape

from zvonar_contracts.dialer import SynthesizePreview, SynthesizeReply
from zvonar_contracts.limits import MAX_TTS_TEXT
from zvonar_contracts.options import WEEKDAYS, FileAudio, TtsAudio
from zvonar_contracts.subjects import AUDIO_BUCKET, account_folder, uploaded_audio_object
from zvonar_gateway.domain.account import Account
from zvonar_gateway.domain.timezones import zone_label
from zvonar_gateway.domain.validation import BodyInvalid, convert_body
from zvonar_gateway.files.audio import (
    MAX_AUDIO_BYTES,
    AudioRejected,
    AudioTooLarge,
    check_audio,
    new_file_id,
)
from zvonar_gateway.files.phones import (
    PhoneImport,
    PhoneImportError,
    RejectedPhone,
    parse_phone_file,
)
from zvonar_gateway.service_layer.campaigns import (
    check_body,
    create_campaign,
    read_detail,
    request_hash,
)
from zvonar_gateway.service_layer.errors import ApiError
from zvonar_gateway.service_layer.quotes import QuoteRefused, measure_upload, quote
from zvonar_gateway.web.auth import backend_of, require_account
from zvonar_gateway.web.forms import Errors, form_to_body, options_to_values
from zvonar_gateway.web.messages import field_error, rejected_lines
from zvonar_gateway.web.render import html, redirect, words_of
from zvonar_gateway.web.session import check_csrf
from zvonar_runtime.logging import get_logger

_MAX_PREVIEWS = 5
# Rejected lines shown after the redirect to the created page (kept in the session cookie).
_SESSION_REJECTED = 20
_FILE_ID = re.compile(r"upload/[0-9a-f]{32}")
_DEFAULTS = {
    "speed": "800",
    "audio_kind": "tts",
    "routing_kind": "carousel",
    "ivr_kind": "none",
    "window_from": "09:00",
    "window_to": "21:00",
    "smart_delay": "60",
}
_DEFAULT_DAYS = ("mon", "tue", "wed", "thu", "fri")
log = get_logger("zvonar.gateway.web")


def _form_page(
    request: Request[Any, Any, Any],
    account: Account,
    values: dict[str, str],
    days: list[str],
    errors: Errors,
    rejected: list[Any],
    status_code: int = 200,
    copy_count: int | None = None,
) -> Response[str]:
    lang = words_of(request).lang
    return html(
        request,
        "create.html",
        status_code=status_code,
        account=account,
        v=values,
        days=days,
        weekdays=list(WEEKDAYS),
        # The API's English messages, said in the page's language by field and message.
        errors={field: field_error(field, message, lang) for field, message in errors.items()},
        rejected=rejected_lines(rejected, lang),
        nonce=values.get("nonce") or secrets.token_urlsafe(12),
        copy_count=copy_count,
        max_audio_bytes=MAX_AUDIO_BYTES,
        zone=zone_label(account.timezone, lang),
    )


def _campaign_id(text: str | None) -> int | None:
    # ASCII digits only: "²" is a digit to isdigit() and no number to int().
    if text and text.isascii() and text.isdigit() and len(text) < 19 and 0 < int(text) < 2**62:
        return int(text)
    return None


async def _copied_base(
    request: Request[Any, Any, Any], account: Account, campaign_id: int
) -> tuple[bytes, int] | None:
    """The phone base a campaign of this account was created with ("Скопировать")."""
    detail = await read_detail(backend_of(request), account.id, campaign_id)
    for entry in detail.history:
        ref = entry.details.get("phones")
        if entry.type == "CampaignCreated" and isinstance(ref, dict):
            name, bucket = str(ref.get("name", "")), str(ref.get("bucket", ""))
            if not name.startswith(account_folder(account.id)) or ".." in name:
                return None
            data = await backend_of(request).get_object(bucket, name)
            return data, int(ref.get("count", 0))
    return None


@get("/campaigns/new", include_in_schema=False)
async def new_campaign(request: Request[Any, Any, Any]) -> Response[str]:
    account = await require_account(request)
    source = _campaign_id(request.query_params.get("copy"))
    if source is None:
        return _form_page(request, account, dict(_DEFAULTS), list(_DEFAULT_DAYS), {}, [])
    # "Скопировать": the form filled in from the campaign, to edit before anyone is called.
    detail = await read_detail(backend_of(request), account.id, source)
    now = dt.datetime.now(dt.UTC)
    values, days = options_to_values(detail.options, account.timezone, now)
    values["copy_of"] = str(source)
    base = await _copied_base(request, account, source)
    count = base[1] if base else None
    return _form_page(request, account, values, days, {}, [], copy_count=count)


async def _upload(
    request: Request[Any, Any, Any], account: Account, upload: UploadFile, errors: Errors
) -> dict[str, str] | None:
    data = await upload.read()
    if not data:
        errors["audio.file_id"] = "the audio file is empty"
        return None
    try:
        await asyncio.to_thread(check_audio, data)
    except (AudioRejected, AudioTooLarge) as exc:
        errors["audio.file_id"] = str(exc)
        return None
    file_id = new_file_id()
    await backend_of(request).put_object(
        AUDIO_BUCKET, uploaded_audio_object(account.id, file_id), data
    )
    return {"kind": "file", "file_id": file_id, "name": upload.filename or ""}


async def _phones(
    values: dict[str, str], upload: Any, errors: Errors, copied: bytes | None = None
) -> tuple[PhoneImport | None, bytes]:
    pasted = not (isinstance(upload, UploadFile) and upload.filename)
    if isinstance(upload, UploadFile) and upload.filename:
        data, name = await upload.read(), upload.filename
    else:
        data, name = (values.get("phones_text") or "").encode(), "pasted.txt"
    if copied is not None and not data.strip():
        data, name = copied, "copied.txt"  # the copied campaign's base, nothing else given
    if not data.strip():
        errors["phones"] = "at least one phone number is required"
        return None, data
    try:
        # Pasted lines are numbers: only a known column name ("телефон") is taken for a
        # header, never a first line that merely has no digits.
        imported = await asyncio.to_thread(parse_phone_file, data, name, guess_header=not pasted)
    except PhoneImportError as exc:
        errors["phones"] = str(exc)
        return None, data
    if not imported.numbers:
        errors["phones"] = "no valid phone number"  # said with the other faults, at once
    return imported, data


@post("/campaigns/new", status_code=200, include_in_schema=False)
async def submit_campaign(request: Request[Any, Any, Any]) -> Response[Any]:
    account = await require_account(request)
    try:
        await check_csrf(request)
        form = await request.form()
    except RequestEntityTooLarge:
        # Over the body limit (the browser checks the audio's size first; this is the rest).
        log.warning("create_form_too_large", path=request.url.path)
        errors = {"audio.file_id": f"audio files are limited to {MAX_AUDIO_BYTES} bytes"}
        return _form_page(request, account, dict(_DEFAULTS), list(_DEFAULT_DAYS), errors, [], 413)
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    days = [str(d) for d in form.getall("window_days", [])]
    raw, errors = form_to_body(values, days, account.timezone)
    audio_file = form.get("audio_file")
    kept = _kept_file_id(values)
    if values.get("audio_kind") == "file":
        if isinstance(audio_file, UploadFile) and audio_file.filename:
            uploaded = await _upload(request, account, audio_file, errors)
            raw["audio"] = uploaded or {"kind": "file", "file_id": ""}
            if uploaded:
                # Kept through any other fault of the form: the customer need not choose
                # the file again.
                values["audio_file_id"] = uploaded["file_id"]
                values["audio_file_name"] = uploaded["name"]
            else:
                values.pop("audio_file_id", None)
                values.pop("audio_file_name", None)
        elif kept:
            raw["audio"] = {
                "kind": "file",
                "file_id": kept,
                "name": values.get("audio_file_name", ""),
            }
        elif values.get("copy_audio"):
            # The copied campaign's file: check_body makes sure it is this account's.
            raw["audio"] = {
                "kind": "file",
                "file_id": values["copy_audio"],
                "name": values.get("copy_audio_name", ""),
            }
        else:
            raw["audio"] = {"kind": "file", "file_id": ""}
            errors["audio.file_id"] = "choose a WAV or MP3 file"
    source = _campaign_id(values.get("copy_of"))
    copied = await _copied_base(request, account, source) if source is not None else None
    copy_count = copied[1] if copied else None
    phones, phone_bytes = await _phones(
        values, form.get("phones_file"), errors, copied[0] if copied else None
    )
    rejected = list(phones.rejected) if phones else []
    backend = backend_of(request)
    try:
        body, faults = convert_body(raw)
        allow_private = request.app.state.settings.webhook_allow_private
        caller = await check_body(
            backend,
            account,
            body,
            require_phones=False,
            faults=faults,
            allow_private_webhooks=allow_private,
        )
    except BodyInvalid as exc:
        errors.update({d["field"]: d["message"] for d in exc.details if d["field"] not in errors})
        body, caller = None, None
        if any(d["field"] == "audio.file_id" for d in exc.details):
            values.pop("audio_file_id", None)  # gone (or never this account's): choose again
            values.pop("audio_file_name", None)
    if errors or body is None or phones is None:
        return _form_page(request, account, values, days, errors, rejected, 422, copy_count)
    try:
        created = await create_campaign(
            backend,
            account,
            body,
            phones,
            caller=caller,
            idempotency_key=f"web-{account.id}-{values.get('nonce', '')}"[:200],
            body_hash=request_hash(raw, phone_bytes),
        )
    except ApiError as exc:
        if exc.status_code >= 500:
            raise
        errors.update({d["field"]: d["message"] for d in exc.details} or {"phones": exc.message})
        return _form_page(request, account, values, days, errors, rejected, 422, copy_count)
    # Post/Redirect/Get: the address becomes the campaign's, a reload posts nothing again.
    created_rows = {
        "id": created.campaign.id,
        "rows": _rejected_for_session(rejected),
        "total": len(rejected),
    }
    request.set_session({**request.session, "created_rejected": created_rows})
    return redirect(request, f"/campaigns/{created.campaign.id}/created")


def _rejected_for_session(rejected: list[Any]) -> list[list[Any]]:
    return [[r.line, r.value[:40], r.reason] for r in rejected[:_SESSION_REJECTED]]


def _kept_file_id(values: dict[str, str]) -> str:
    """The file uploaded with an earlier try of this form (checked to be this account's
    upload by `check_body`, like any file_id); "" when there is none or it is malformed."""
    file_id = (values.get("audio_file_id") or "").strip()
    return file_id if _FILE_ID.fullmatch(file_id) else ""


@get("/campaigns/{campaign_id:int}/created", include_in_schema=False)
async def created(request: Request[Any, Any, Any], campaign_id: FromPath[int]) -> Response[str]:
    account = await require_account(request)
    detail = await read_detail(backend_of(request), account.id, campaign_id)
    view = detail.campaign
    kept = request.session.get("created_rejected") or {}
    rows = kept.get("rows", []) if kept.get("id") == campaign_id else []
    rejected = [RejectedPhone(int(r[0]), str(r[1]), str(r[2])) for r in rows if len(r) == 3]
    campaign = {"id": view.id, "name": view.name, "status": str(view.status)}
    lang = words_of(request).lang
    return html(
        request,
        "created.html",
        account=account,
        campaign=campaign,
        rejected=rejected_lines(rejected, lang),
        rejected_total=kept.get("total", len(rejected)) if rows else 0,
    )


@post("/campaigns/preview", status_code=200, include_in_schema=False)
async def preview(request: Request[Any, Any, Any]) -> Response[str]:
    account = await require_account(request)
    await check_csrf(request)
    form = await request.form()
    text = form.get("tts_text")
    text = text.strip() if isinstance(text, str) else ""
    if not text or len(text) > MAX_TTS_TEXT:
        message = words_of(request)("tts_length").format(max=MAX_TTS_TEXT)
        return Response(f'<p class="field-error">{escape(message)}</p>', media_type=MediaType.HTML)
    reply = await backend_of(request).dialer(
        SynthesizePreview(text=text, account_id=account.id), SynthesizeReply, timeout=20
    )
    if reply.error or not reply.audio_object:
        return Response(
            f'<p class="field-error">{escape(words_of(request)("preview_failed"))}</p>',
            media_type=MediaType.HTML,
        )
    # Only objects synthesized for this session may be fetched through the preview URL.
    allowed = [reply.audio_object, *request.session.get("previews", [])][:_MAX_PREVIEWS]
    request.set_session({**request.session, "previews": allowed})
    return html(request, "_preview.html", name=reply.audio_object, duration=reply.duration_s)


@get("/campaigns/preview-audio", include_in_schema=False)
async def preview_audio(request: Request[Any, Any, Any]) -> Response[bytes]:
    await require_account(request)
    name = request.query_params.get("name") or ""
    if name not in request.session.get("previews", []):
        raise ApiError(404, "not_found", "no such preview")
    data = await backend_of(request).get_object(AUDIO_BUCKET, name)
    return Response(data, media_type="audio/wav")


def _whole(text: Any, limit: int) -> int | None:
    if isinstance(text, str) and text.isascii() and text.isdigit() and len(text) < 10:
        value = int(text)
        return value if value <= limit else None
    return None


def _seconds(text: Any) -> float | None:
    try:
        value = float(text) if isinstance(text, str) and len(text) < 20 else math.nan
    except ValueError:
        return None
    return value if math.isfinite(value) and 0 <= value <= 600 else None


async def _quoted_numbers(
    request: Request[Any, Any, Any], account: Account, form: Any
) -> int | None:
    """How many numbers the form's base holds: the pasted lines, the chosen file (or the
    count the page was given for that same file the last time), or the copied base."""
    upload = form.get("phones_file")
    if isinstance(upload, UploadFile) and upload.filename:
        data, name = await upload.read(), upload.filename
    else:
        known = _whole(form.get("phones_count"), 1_000_000)
        if known is not None:
            return known
        text = form.get("phones_text")
        data, name = (text if isinstance(text, str) else "").encode(), "pasted.txt"
    if not data.strip():
        source = _campaign_id(form.get("copy_of"))
        copied = await _copied_base(request, account, source) if source is not None else None
        return copied[1] if copied else None
    try:
        # Counted as the submit will import them (pasted lines: no header guessed).
        imported = await asyncio.to_thread(
            parse_phone_file, data, name, guess_header=name != "pasted.txt"
        )
    except PhoneImportError:
        return 0
    return len(imported.numbers)


async def _quoted_message(
    form: Any, values: dict[str, str]
) -> tuple[TtsAudio | FileAudio | float | None, float | None]:
    """The message to price and a newly chosen file's measured length (for the page to
    send back instead of the file next time)."""
    if values.get("audio_kind") != "file":
        text = (values.get("tts_text") or "").strip()
        return (TtsAudio(text=text) if text else None), None
    upload = form.get("audio_file")
    if isinstance(upload, UploadFile) and upload.filename:
        measured = await measure_upload(await upload.read())
        return measured, measured
    known = _seconds(values.get("audio_duration"))
    if known is not None:
        return known, known
    file_id = _kept_file_id(values) or (values.get("copy_audio") or "").strip()
    return (FileAudio(file_id=file_id) if file_id else None), None


@post("/campaigns/quote", status_code=200, include_in_schema=False)
async def quote_form(request: Request[Any, Any, Any]) -> Response[str]:
    """The expected cost of the base as the form stands: a fragment under the form's
    message, asked for whenever the numbers, the audio, IVR or recording change."""
    account = await require_account(request)
    await check_csrf(request)
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    numbers = await _quoted_numbers(request, account, form)
    try:
        message, measured = await _quoted_message(form, values)
        if not numbers or message is None:
            return html(
                request, "_quote.html", quote=None, numbers=numbers, measured=measured, error=None
            )
        reply = await quote(
            backend_of(request),
            numbers=numbers,
            message=message,
            account_id=account.id,
            recognition=values.get("ivr_kind") == "words",
            recording=values.get("record") == "on",
        )
    except QuoteRefused as exc:
        lang = words_of(request).lang
        return html(
            request,
            "_quote.html",
            quote=None,
            numbers=numbers,
            measured=None,
            error=field_error(exc.field, exc.message, lang),
        )
    return html(request, "_quote.html", quote=reply, numbers=numbers, measured=measured, error=None)


HANDLERS = [new_campaign, submit_campaign, created, preview, preview_audio, quote_form]
