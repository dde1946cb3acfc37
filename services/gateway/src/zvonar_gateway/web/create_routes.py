"""The create page: the form, its submission through the API's own validation and use
case (`service_layer.campaigns`), and the TTS preview through the dialer."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from typing import Any

from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import UploadFile
from markupsafe import escape

from zvonar_contracts.dialer import SynthesizePreview, SynthesizeReply
from zvonar_contracts.limits import MAX_TTS_TEXT
from zvonar_contracts.options import WEEKDAYS
from zvonar_contracts.subjects import AUDIO_BUCKET, account_folder, uploaded_audio_object
from zvonar_gateway.domain.validation import BodyInvalid, convert_body
from zvonar_gateway.files.audio import AudioRejected, AudioTooLarge, check_audio, new_file_id
from zvonar_gateway.files.phones import PhoneImport, PhoneImportError, parse_phone_file
from zvonar_gateway.http.deps import Account, ApiError
from zvonar_gateway.service_layer.campaigns import (
    check_body,
    create_campaign,
    read_detail,
    request_hash,
)
from zvonar_gateway.web.auth import backend_of, require_account
from zvonar_gateway.web.forms import Errors, form_to_body, options_to_values
from zvonar_gateway.web.render import html, words_of
from zvonar_gateway.web.session import check_csrf

_MAX_PREVIEWS = 5


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
    return html(
        request,
        "create.html",
        status_code=status_code,
        account=account,
        v=values,
        days=days,
        weekdays=list(WEEKDAYS),
        errors=errors,
        rejected=rejected,
        nonce=values.get("nonce") or secrets.token_urlsafe(12),
        copy_count=copy_count,
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
    defaults = {
        "speed": "800",
        "audio_kind": "tts",
        "routing_kind": "carousel",
        "ivr_kind": "none",
        "window_from": "09:00",
        "window_to": "21:00",
        "smart_delay": "60",
    }
    source = _campaign_id(request.query_params.get("copy"))
    if source is None:
        return _form_page(request, account, defaults, ["mon", "tue", "wed", "thu", "fri"], {}, [])
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
        return await asyncio.to_thread(parse_phone_file, data, name), data
    except PhoneImportError as exc:
        errors["phones"] = str(exc)
        return None, data


@post("/campaigns/new", status_code=200, include_in_schema=False)
async def submit_campaign(request: Request[Any, Any, Any]) -> Response[Any]:
    account = await require_account(request)
    await check_csrf(request)
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    days = [str(d) for d in form.getall("window_days", [])]
    raw, errors = form_to_body(values, days, account.timezone)
    audio_file = form.get("audio_file")
    if values.get("audio_kind") == "file":
        if isinstance(audio_file, UploadFile) and audio_file.filename:
            raw["audio"] = await _upload(request, account, audio_file, errors) or {
                "kind": "file",
                "file_id": "",
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
    if errors or body is None or phones is None:
        return _form_page(request, account, values, days, errors, rejected, 422, copy_count)
    try:
        campaign = await create_campaign(
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
    return html(request, "created.html", account=account, campaign=campaign, rejected=rejected)


@post("/campaigns/preview", status_code=200, include_in_schema=False)
async def preview(request: Request[Any, Any, Any]) -> Response[str]:
    account = await require_account(request)
    await check_csrf(request)
    form = await request.form()
    text = form.get("tts_text")
    text = text.strip() if isinstance(text, str) else ""
    if not text or len(text) > MAX_TTS_TEXT:
        return Response(
            f'<p class="field-error">{words_of(request)("error")}: 1..{MAX_TTS_TEXT}</p>',
            media_type=MediaType.HTML,
        )
    reply = await backend_of(request).dialer(
        SynthesizePreview(text=text, account_id=account.id), SynthesizeReply, timeout=20
    )
    if reply.error or not reply.audio_object:
        return Response(
            f'<p class="field-error">{escape(reply.error or "no audio")}</p>',
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


HANDLERS = [new_campaign, submit_campaign, preview, preview_audio]
