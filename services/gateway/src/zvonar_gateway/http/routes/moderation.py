"""Moderation by people (admin token): the clarification queue, approve, reject."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from zvonar_contracts.campaign_events import Decision
from zvonar_contracts.commands import ModerateCampaign
from zvonar_contracts.limits import MAX_REASON
from zvonar_contracts.queries import CampaignPage, CampaignView, GetModerationQueue
from zvonar_gateway.http.auth import require_admin
from zvonar_gateway.http.providers import BackendDep
from zvonar_gateway.http.render import render_moderated
from zvonar_gateway.http.routes.common import accounts_of, check_id, settings_of
from zvonar_gateway.http.schemas import ModeratedCampaignOut, ModerationQueueOut
from zvonar_gateway.service_layer.campaigns import campaign_id_of, owner_of, read_detail
from zvonar_gateway.service_layer.errors import ApiError
from zvonar_gateway.service_layer.ports import Backend

_FALLBACK_TZ = "UTC"


class RejectBody(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_REASON)]


async def _render(
    request: Request[Any, Any, Any], view: CampaignView, zones: dict[str, str] | None = None
) -> ModeratedCampaignOut:
    """A moderator sees times in the owner's timezone, as the customer would."""
    zones = {} if zones is None else zones
    if view.account_id not in zones:
        owner = await accounts_of(request).by_id(view.account_id)
        zones[view.account_id] = owner.timezone if owner else _FALLBACK_TZ
    return render_moderated(view, zones[view.account_id])


@get("/api/v1/moderation/queue", tags=["moderation"], summary="Campaigns in clarification")
async def moderation_queue(
    request: Request[Any, Any, Any],
    backend: BackendDep,
    page: Annotated[int, QueryParameter(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
) -> ModerationQueueOut:
    await require_admin(request, settings_of(request).admin_token)
    reply = await backend.query(GetModerationQueue(page=page, per_page=per_page))
    if not isinstance(reply, CampaignPage):
        raise ApiError(
            503,
            "service_unavailable",
            "the stats service answered out of turn",
            headers={"Retry-After": "1"},
        )
    zones: dict[str, str] = {}  # one account lookup per owner, not per row
    items = [await _render(request, view, zones) for view in reply.items]
    return ModerationQueueOut(
        items=items, total=reply.total, page=reply.page, per_page=reply.per_page
    )


async def _decide(
    request: Request[Any, Any, Any],
    backend: Backend,
    campaign_id: int,
    decision: Decision,
    reason: str,
) -> ModeratedCampaignOut:
    await require_admin(request, settings_of(request).admin_token)
    cid = check_id(campaign_id)
    command = ModerateCampaign(
        account_id=await owner_of(backend, cid),
        campaign_id=cid,
        decision=decision,
        decided_by="moderator",
        reason=reason,
    )
    ok = await backend.command(command)
    detail = await read_detail(
        backend, None, campaign_id_of(ok) if ok.campaign else cid, ok.position
    )
    return await _render(request, detail.campaign)


@post(
    "/api/v1/moderation/{campaign_id:int}/approve",
    status_code=200,
    tags=["moderation"],
    summary="Approve",
)
async def approve(
    request: Request[Any, Any, Any], backend: BackendDep, campaign_id: FromPath[int]
) -> ModeratedCampaignOut:
    return await _decide(request, backend, campaign_id, "accepted", "")


@post(
    "/api/v1/moderation/{campaign_id:int}/reject",
    status_code=200,
    tags=["moderation"],
    summary="Reject",
)
async def reject(
    request: Request[Any, Any, Any],
    backend: BackendDep,
    campaign_id: FromPath[int],
    data: JSONBody[RejectBody],
) -> ModeratedCampaignOut:
    if not data.reason.strip():
        raise ApiError(
            422,
            "validation",
            "a reason is required",
            [{"field": "reason", "message": "must not be empty"}],
        )
    return await _decide(request, backend, campaign_id, "rejected", data.reason.strip())


HANDLERS = [moderation_queue, approve, reject]
