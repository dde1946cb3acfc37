"""Campaigns: create (JSON or multipart), list with every filter, detail with history."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, QueryParameter

from zvonar_contracts.limits import MAX_IDEMPOTENCY_KEY
from zvonar_contracts.options import Status, Tag
from zvonar_contracts.queries import CampaignPage, ListCampaigns
from zvonar_gateway.domain.account import Account
from zvonar_gateway.domain.filters import FilterError, parse_bound
from zvonar_gateway.domain.validation import CreateCampaignBody
from zvonar_gateway.http.openapi import body_operation
from zvonar_gateway.http.providers import BackendDep
from zvonar_gateway.http.render import render_campaign, render_created, render_detail
from zvonar_gateway.http.routes.common import check_id, decode_json, settings_of
from zvonar_gateway.http.schemas import (
    CampaignDetailOut,
    CampaignPageOut,
    CreatedCampaignOut,
    documented,
)
from zvonar_gateway.service_layer.campaigns import (
    create_from_file,
    create_from_json,
    read_detail,
)
from zvonar_gateway.service_layer.errors import ApiError
from zvonar_gateway.service_layer.quotes import QuoteOut, quote_from_json

_MULTIPART = {
    "type": "object",
    "required": ["phones_file", "campaign"],
    "properties": {
        "phones_file": {"type": "string", "format": "binary"},
        "campaign": {"type": "string", "description": "the rest of the create body, as JSON"},
    },
}

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(name="Idempotency-Key", max_length=MAX_IDEMPOTENCY_KEY, required=False),
]


async def _multipart_parts(request: Request[Any, Any, Any]) -> tuple[Any, bytes, str]:
    form = await request.form()
    upload = form.get("phones_file")
    if not isinstance(upload, UploadFile):
        missing = [{"field": "phones_file", "message": "a CSV or TXT file is required"}]
        raise ApiError(422, "validation", "phones_file is missing", missing)
    campaign = form.get("campaign")
    text = campaign if isinstance(campaign, str) else "{}"
    raw = decode_json(text.encode("utf-8"), "the campaign field")
    return raw, await upload.read(), upload.filename or "phones_file"


@post(
    "/api/v1/campaigns",
    status_code=201,
    tags=["campaigns"],
    summary="Create a campaign (JSON, or multipart with phones_file + campaign)",
    operation_class=body_operation(CreateCampaignBody, multipart=_MULTIPART),
    responses=documented(201, CreatedCampaignOut, "the new campaign"),
)
async def create_campaign(
    request: Request[Any, Any, Any],
    account: NamedDependency[Account],
    backend: BackendDep,
    idempotency_key: IdempotencyKey = None,
) -> CreatedCampaignOut:
    content_type = request.headers.get("content-type", "").lower()
    allow_private = settings_of(request).webhook_allow_private
    if content_type.startswith("multipart/form-data"):
        raw, data, filename = await _multipart_parts(request)
        created = await create_from_file(
            backend,
            account,
            raw,
            data,
            filename,
            idempotency_key=idempotency_key,
            allow_private_webhooks=allow_private,
        )
        return render_created(created, account.timezone)
    # Anything else is read as JSON, whatever it claims (curl -d sends a form type).
    raw = decode_json(await request.body())
    created = await create_from_json(
        backend,
        account,
        raw,
        idempotency_key=idempotency_key,
        allow_private_webhooks=allow_private,
    )
    return render_created(created, account.timezone)


@post(
    "/api/v1/campaigns/quote",
    status_code=200,
    tags=["campaigns"],
    summary="The expected cost of a campaign's base before it is created",
    description=(
        "The create body (JSON), checked as a create checks it and priced by the tariff the "
        "dialer bills with; nothing is created. The figure assumes every valid number "
        "answers and hears the whole message once (`assumes` says so)."
    ),
    operation_class=body_operation(CreateCampaignBody),
)
async def quote_campaign(
    request: Request[Any, Any, Any],
    account: NamedDependency[Account],
    backend: BackendDep,
) -> QuoteOut:
    raw = decode_json(await request.body())
    return await quote_from_json(
        backend, account, raw, allow_private_webhooks=settings_of(request).webhook_allow_private
    )


def _bound(name: str, value: str | None, tz: str, *, end: bool) -> dt.datetime | None:
    try:
        return parse_bound(value, ZoneInfo(tz), end_of_day=end)
    except FilterError as exc:
        raise ApiError(
            422, "validation", f"{name}: {exc}", [{"field": name, "message": str(exc)}]
        ) from exc


@get(
    "/api/v1/campaigns",
    tags=["campaigns"],
    summary="List campaigns, newest first",
    responses=documented(200, CampaignPageOut, "a page of campaigns"),
)
async def list_campaigns(
    account: NamedDependency[Account],
    backend: BackendDep,
    q: Annotated[str | None, QueryParameter(max_length=200)] = None,
    status: Annotated[list[Status] | None, QueryParameter()] = None,
    tag: Annotated[list[Tag] | None, QueryParameter()] = None,
    created_from: Annotated[str | None, QueryParameter(description="date or date-time")] = None,
    created_to: Annotated[str | None, QueryParameter(description="date or date-time")] = None,
    page: Annotated[int, QueryParameter(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
) -> CampaignPageOut:
    query = ListCampaigns(
        account_id=account.id,
        q=q.strip() if q and q.strip() else None,
        statuses=list(status or []),
        tags=list(tag or []),
        created_from=_bound("created_from", created_from, account.timezone, end=False),
        created_to=_bound("created_to", created_to, account.timezone, end=True),
        page=page,
        per_page=per_page,
    )
    reply = await backend.query(query)
    if not isinstance(reply, CampaignPage):
        raise ApiError(
            503,
            "service_unavailable",
            "the stats service answered out of turn",
            headers={"Retry-After": "1"},
        )
    return CampaignPageOut(
        items=[render_campaign(view, account.timezone) for view in reply.items],
        total=reply.total,
        page=reply.page,
        per_page=reply.per_page,
    )


@get(
    "/api/v1/campaigns/{campaign_id:int}",
    tags=["campaigns"],
    summary="A campaign with options and history",
    responses=documented(200, CampaignDetailOut, "the campaign with options and history"),
)
async def get_campaign(
    account: NamedDependency[Account], backend: BackendDep, campaign_id: FromPath[int]
) -> CampaignDetailOut:
    reply = await read_detail(backend, account.id, check_id(campaign_id))
    return render_detail(reply, account.timezone)


HANDLERS = [create_campaign, quote_campaign, list_campaigns, get_campaign]
