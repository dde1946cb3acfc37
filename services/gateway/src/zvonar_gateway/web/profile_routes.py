"""The profile (timezone, key rotation) and the account's stop-list (list, add by paste
or file, remove)."""

from __future__ import annotations

import asyncio
import math
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile

from zvonar_contracts.commands import AddToStopList, RemoveFromStopList
from zvonar_contracts.queries import GetStopList, StopListPage
from zvonar_gateway.domain.account import Account
from zvonar_gateway.domain.timezones import zone_options
from zvonar_gateway.files.phones import PhoneImportError, e164_or_reason, parse_phone_file
from zvonar_gateway.http.routes.accounts import check_timezone
from zvonar_gateway.http.routes.common import accounts_of
from zvonar_gateway.service_layer.errors import ApiError
from zvonar_gateway.web.auth import backend_of, require_account
from zvonar_gateway.web.messages import field_error, rejected_lines
from zvonar_gateway.web.render import html, words_of
from zvonar_gateway.web.report_routes import page_number
from zvonar_gateway.web.session import check_csrf

PER_PAGE = 50


@get("/profile", include_in_schema=False)
async def profile(request: Request[Any, Any, Any]) -> Response[str]:
    account = await require_account(request)
    return html(
        request,
        "profile.html",
        account=account,
        zones=zone_options(words_of(request).lang, account.timezone),
        message=None,
        new_key=None,
    )


@post("/profile/timezone", status_code=200, include_in_schema=False)
async def set_timezone(request: Request[Any, Any, Any]) -> Response[str]:
    account = await require_account(request)
    await check_csrf(request)
    form = await request.form()
    value = form.get("timezone")
    zone = check_timezone(value.strip() if isinstance(value, str) else "")
    updated = await accounts_of(request).set_timezone(account.id, zone) or account
    return html(
        request,
        "profile.html",
        account=updated,
        zones=zone_options(words_of(request).lang, updated.timezone),
        message=words_of(request)("saved"),
        new_key=None,
    )


@post("/profile/rotate-key", status_code=200, include_in_schema=False)
async def rotate_key(request: Request[Any, Any, Any]) -> Response[str]:
    account = await require_account(request)
    await check_csrf(request)
    accounts = accounts_of(request)
    new_key = await accounts.rotate_key(account.id)
    # This session rotated it: it goes on with the new key; every other one is signed out.
    request.set_session({**request.session, "key": await accounts.key_stamp(account.id) or ""})
    return html(
        request,
        "profile.html",
        account=account,
        zones=zone_options(words_of(request).lang, account.timezone),
        message=None,
        new_key=new_key,
    )


async def _stop_list(
    request: Request[Any, Any, Any],
    account: Account,
    page: int,
    min_position: int = 0,
    **extra: Any,
) -> Response[str]:
    reply = await backend_of(request).query(
        GetStopList(account_id=account.id, page=page, per_page=PER_PAGE, min_position=min_position)
    )
    if not isinstance(reply, StopListPage):
        raise ApiError(503, "service_unavailable", "the stats service answered out of turn")
    context = {"message": None, "rejected": [], "error": None, **extra}
    lang = words_of(request).lang
    context["rejected"] = rejected_lines(context["rejected"], lang)
    if context["error"]:
        context["error"] = field_error("phones", str(context["error"]), lang)
    return html(
        request,
        "stoplist.html",
        account=account,
        phones=reply.phones,
        total=reply.total,
        page=reply.page,
        pages=max(1, math.ceil(reply.total / PER_PAGE)),
        **context,
    )


@get("/stop-list", include_in_schema=False)
async def stop_list(request: Request[Any, Any, Any]) -> Response[str]:
    account = await require_account(request)
    return await _stop_list(request, account, page_number(request.query_params.get("page")))


@post("/stop-list/add", status_code=200, include_in_schema=False)
async def stop_list_add(request: Request[Any, Any, Any]) -> Response[str]:
    account = await require_account(request)
    await check_csrf(request)
    form = await request.form()
    upload = form.get("phones_file")
    if isinstance(upload, UploadFile) and upload.filename:
        data, name = await upload.read(), upload.filename
    else:
        text = form.get("phones_text")
        data, name = (text if isinstance(text, str) else "").encode(), "pasted.txt"
    pasted = name == "pasted.txt"
    try:
        imported = await asyncio.to_thread(parse_phone_file, data, name, guess_header=not pasted)
    except PhoneImportError as exc:
        return await _stop_list(request, account, 1, error=str(exc))
    if not imported.numbers:
        return await _stop_list(
            request,
            account,
            1,
            rejected=imported.rejected,
            error="no valid phone number",
        )
    ok = await backend_of(request).command(
        AddToStopList(account_id=account.id, phones=imported.numbers)
    )
    message = f"{words_of(request)('added')}: {len(imported.numbers)}"
    return await _stop_list(
        request, account, 1, ok.position, message=message, rejected=imported.rejected
    )


@post("/stop-list/remove", status_code=200, include_in_schema=False)
async def stop_list_remove(request: Request[Any, Any, Any]) -> Response[str]:
    account = await require_account(request)
    await check_csrf(request)
    form = await request.form()
    value = form.get("phone")
    e164, reason = e164_or_reason(value if isinstance(value, str) else "", "RU")
    if e164 is None:
        return await _stop_list(request, account, 1, error=reason)
    ok = await backend_of(request).command(RemoveFromStopList(account_id=account.id, phones=[e164]))
    return await _stop_list(
        request, account, 1, ok.position, message=f"{words_of(request)('done')}: {e164}"
    )


HANDLERS = [profile, set_timezone, rotate_key, stop_list, stop_list_add, stop_list_remove]
