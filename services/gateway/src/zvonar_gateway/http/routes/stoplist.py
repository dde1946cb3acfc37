"""The account's stop-list: paged read, add numbers (normalised), remove one number."""

from __future__ import annotations

import asyncio
from typing import Annotated

import msgspec
from litestar import delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from zvonar_contracts.commands import AddToStopList, RemoveFromStopList
from zvonar_contracts.limits import MAX_STOP_LIST_PHONES
from zvonar_contracts.queries import GetStopList, StopListPage
from zvonar_gateway.domain.account import Account
from zvonar_gateway.files.phones import e164_or_reason, normalise_phones
from zvonar_gateway.http.providers import BackendDep
from zvonar_gateway.http.schemas import (
    RejectedOut,
    StopListAddedOut,
    StopListPageOut,
    StopListRemovedOut,
    documented,
)
from zvonar_gateway.service_layer.errors import ApiError
from zvonar_gateway.service_layer.ports import Backend


class StopListBody(msgspec.Struct, forbid_unknown_fields=True):
    phones: Annotated[list[str], msgspec.Meta(min_length=1, max_length=MAX_STOP_LIST_PHONES)]


async def _page(
    backend: Backend,
    account: Account,
    page: int,
    per_page: int,
    min_position: int = 0,
) -> StopListPageOut:
    reply = await backend.query(
        GetStopList(account_id=account.id, page=page, per_page=per_page, min_position=min_position)
    )
    if not isinstance(reply, StopListPage):
        raise ApiError(
            503,
            "service_unavailable",
            "the stats service answered out of turn",
            headers={"Retry-After": "1"},
        )
    return StopListPageOut(
        items=[{"phone": phone} for phone in reply.phones],
        phones=list(reply.phones),
        total=reply.total,
        page=reply.page,
        per_page=reply.per_page,
    )


@get(
    "/api/v1/stop-list",
    tags=["stop-list"],
    summary="The account's stop-list, paged",
    responses=documented(200, StopListPageOut, "a page of the stop-list"),
)
async def get_stop_list(
    account: NamedDependency[Account],
    backend: BackendDep,
    page: Annotated[int, QueryParameter(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
) -> StopListPageOut:
    return await _page(backend, account, page, per_page)


@post("/api/v1/stop-list", status_code=200, tags=["stop-list"], summary="Add numbers")
async def add_to_stop_list(
    account: NamedDependency[Account],
    backend: BackendDep,
    data: JSONBody[StopListBody],
) -> StopListAddedOut:
    imported = await asyncio.to_thread(normalise_phones, data.phones)
    if not imported.numbers:
        raise ApiError(
            422,
            "no_valid_phones",
            "none of the phone numbers is valid",
            [{"field": "phones", "message": "no valid phone number"}],
        )
    ok = await backend.command(AddToStopList(account_id=account.id, phones=imported.numbers))
    page = await _page(backend, account, 1, 50, min_position=ok.position)
    return StopListAddedOut(
        **msgspec.structs.asdict(page),
        added=imported.numbers,
        rejected_phones=[RejectedOut(r.line, r.value, r.reason) for r in imported.rejected],
    )


@delete(
    "/api/v1/stop-list/{phone:str}", status_code=200, tags=["stop-list"], summary="Remove a number"
)
async def remove_from_stop_list(
    account: NamedDependency[Account], backend: BackendDep, phone: FromPath[str]
) -> StopListRemovedOut:
    e164, reason = e164_or_reason(phone, "RU")
    if e164 is None:
        raise ApiError(
            422,
            "validation",
            f"not a phone number: {reason}",
            [{"field": "phone", "message": reason}],
        )
    ok = await backend.command(RemoveFromStopList(account_id=account.id, phones=[e164]))
    page = await _page(backend, account, 1, 50, min_position=ok.position)
    return StopListRemovedOut(**msgspec.structs.asdict(page), removed=[e164])


HANDLERS = [get_stop_list, add_to_stop_list, remove_from_stop_list]
