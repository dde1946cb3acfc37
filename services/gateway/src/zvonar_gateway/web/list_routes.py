"""The list "Рассылки": the page, the table fragment it polls, row actions, bulk delete
and the download of the selected rows."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath

from zvonar_contracts.limits import MAX_COMMENT
from zvonar_contracts.options import Status, Tag
from zvonar_contracts.queries import CampaignPage, ListCampaigns
from zvonar_gateway.domain.account import Account
from zvonar_gateway.files.exports import (
    CAMPAIGN_COLUMNS,
    MEDIA_TYPES,
    CsvWriter,
    XlsxWriter,
    campaign_row,
)
from zvonar_gateway.service_layer.actions import (
    Action,
    action_named,
    delete_campaigns,
    run_action,
    wait_applied,
)
from zvonar_gateway.service_layer.campaigns import read_detail
from zvonar_gateway.service_layer.errors import ApiError
from zvonar_gateway.web.auth import backend_of, require_account, session_account
from zvonar_gateway.web.filters import ListFilters, read_filters, to_query
from zvonar_gateway.web.render import flash, html, is_htmx, redirect, words_of
from zvonar_gateway.web.session import check_csrf, session_data
from zvonar_gateway.web.view import RowView, row_view, unfinished_parts

_MAX_SELECTED = 1000
_PART_CHECKS = 8  # details read at once to see which rows still have smart parts to cancel


def _filters(request: Request[Any, Any, Any]) -> ListFilters:
    params = request.query_params
    return read_filters(params.get, lambda key: list(params.getall(key, [])))


def _selected(values: list[str]) -> list[int]:
    ids = []
    for value in values:
        # ASCII digits only: "²" is a digit to isdigit() and no number to int().
        if value.isascii() and value.isdigit() and len(value) < 19 and 0 < int(value) < 2**62:
            ids.append(int(value))
    return list(dict.fromkeys(ids))[:_MAX_SELECTED]


async def _table_context(request: Request[Any, Any, Any], account: Account) -> dict[str, Any]:
    filters = _filters(request)
    query, filter_error = to_query(filters, account.id, account.timezone)
    reply = await backend_of(request).query(query)
    if not isinstance(reply, CampaignPage):
        raise ApiError(503, "service_unavailable", "the stats service answered out of turn")
    words = words_of(request)
    if filter_error:
        filter_error = words("bad_date")
    elif query.created_from and query.created_to and query.created_from > query.created_to:
        filter_error = words("dates_reversed")  # nothing can match: say why the list is empty
    pages = max(1, math.ceil(reply.total / query.per_page))
    rows = await _with_cancellable_parts(
        request, account, [row_view(view, account.timezone, words) for view in reply.items]
    )
    # A smart part links to its main campaign and the main one to its parts on this page.
    parts: dict[int, list[tuple[int, int]]] = {}
    for row in sorted(rows, key=lambda r: r.smart_part or 0):
        if row.parent_id is not None and row.smart_part is not None:
            parts.setdefault(row.parent_id, []).append((row.smart_part, row.id))
    return {
        "rows": rows,
        "parts": parts,
        "on_page": {row.id for row in rows},
        "total": reply.total,
        "page": reply.page,
        "pages": pages,
        "filters": filters,
        "filter_error": filter_error,
        "selected": set(_selected(request.query_params.getall("ids", []))),
    }


async def _with_cancellable_parts(
    request: Request[Any, Any, Any], account: Account, rows: list[RowView]
) -> list[RowView]:
    """ "Отменить последнюю/все умные" only where a part is left to cancel: a running main
    campaign whose parts are all finished or cancelled offers neither."""
    limit = asyncio.Semaphore(_PART_CHECKS)

    async def checked(row: RowView) -> RowView:
        if not row.can_cancel_smart:
            return row
        try:
            async with limit:
                detail = await read_detail(backend_of(request), account.id, row.id)
        except ApiError as exc:
            if exc.status_code != 404:
                raise
            return row  # deleted since the list was read: the next poll drops the row
        return msgspec.structs.replace(row, can_cancel_smart=unfinished_parts(detail) > 0)

    return list(await asyncio.gather(*(checked(row) for row in rows)))


@get("/", include_in_schema=False)
async def home(request: Request[Any, Any, Any]) -> Response[Any]:
    account = await session_account(request)
    if account is None:
        if session_data(request).get("admin"):
            return redirect(request, "/moderation")
        return html(request, "signin.html", error=None)
    context = await _table_context(request, account)
    return html(
        request,
        "campaigns.html",
        account=account,
        all_tags=[str(tag) for tag in Tag],
        all_statuses=[str(status) for status in Status],
        **context,
    )


@get("/campaigns/table", include_in_schema=False)
async def table(request: Request[Any, Any, Any]) -> Response[Any]:
    account = await require_account(request)
    context = await _table_context(request, account)
    return html(request, "_table.html", account=account, **context)


def _text(action: Action, prompt: str | None) -> str:
    """The comment's text from the page's prompt (trimmed); "" for the other actions."""
    if not action.takes_text:
        return ""
    text = (prompt or "").strip()
    if len(text) > MAX_COMMENT:
        raise ApiError(422, "validation", f"at most {MAX_COMMENT} characters")
    return text


@post("/campaigns/{campaign_id:int}/do/{action:str}", status_code=200, include_in_schema=False)
async def campaign_action(
    request: Request[Any, Any, Any], campaign_id: FromPath[int], action: FromPath[str]
) -> Response[Any]:
    """A row's button: the action of the table (service_layer/actions.py) the API offers
    too; the answer waits until stats has applied it, so the table the client reloads
    shows it."""
    account = await require_account(request)
    await check_csrf(request)
    # The comment comes as a form field: a header (hx-prompt) cannot carry Cyrillic.
    form = await request.form()
    prompt = form.get("text")
    chosen = action_named(action)
    text = _text(chosen, prompt if isinstance(prompt, str) else None)
    view = await run_action(backend_of(request), account, chosen, campaign_id, text)
    words = words_of(request)
    if chosen.done == "copied":
        return flash(request, f"{words('copied')}: {view.id}")
    return flash(request, f"{words('done')}: {campaign_id}")


@post("/campaigns/delete", status_code=200, include_in_schema=False)
async def delete_selected(request: Request[Any, Any, Any]) -> Response[Any]:
    account = await require_account(request)
    await check_csrf(request)
    form = await request.form()
    ids = _selected([str(v) for v in form.getall("ids", [])])
    words = words_of(request)
    if not ids:
        return flash(request, words("nothing_selected"), error=True, refresh=False)
    ok = await delete_campaigns(backend_of(request), account, ids)
    await wait_applied(backend_of(request), account, ok.position)
    deleted = ", ".join(str(i) for i in ok.deleted)
    return flash(request, f"{words('deleted')}: {deleted}")


@post("/campaigns/export", status_code=200, include_in_schema=False)
async def export_selected(request: Request[Any, Any, Any]) -> Response[Any]:
    account = await require_account(request)
    await check_csrf(request)
    form = await request.form()
    ids = _selected([str(v) for v in form.getall("ids", [])])
    fmt = "xlsx" if form.get("format") == "xlsx" else "csv"
    if not ids:
        if is_htmx(request):
            return flash(request, words_of(request)("nothing_selected"), error=True, refresh=False)
        return redirect(request, "/")
    query = ListCampaigns(account_id=account.id, ids=ids, per_page=len(ids))
    reply = await backend_of(request).query(query)
    rows = [campaign_row(view, account.timezone) for view in getattr(reply, "items", [])]
    content = await asyncio.to_thread(_file_bytes, fmt, rows)
    return Response(
        content,
        # Litestar adds "; charset=utf-8" to a text/ type itself: name the type alone.
        media_type="text/csv" if fmt == "csv" else MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="campaigns.{fmt}"'},
    )


def _file_bytes(fmt: str, rows: list[list[Any]]) -> bytes:
    if fmt == "csv":
        writer = CsvWriter(CAMPAIGN_COLUMNS)
        return writer.header() + writer.rows(rows)
    book = XlsxWriter("Рассылки", CAMPAIGN_COLUMNS)
    book.append(rows)
    with book.save() as file:
        return bytes(file.read())


HANDLERS = [home, table, campaign_action, delete_selected, export_selected]
