"""Actions on a campaign: each answers the campaign after the change (docs/API.md "Act")."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from zvonar_contracts.commands import (
    CancelAllSmartParts,
    CancelLastSmartPart,
    CopyCampaign,
    DeleteCampaigns,
    PauseCampaign,
    ReleaseNumber,
    ResumeCampaign,
    SetComment,
    StopCampaign,
)
from zvonar_contracts.limits import MAX_DELETE_IDS, CommentText
from zvonar_gateway.domain.account import Account
from zvonar_gateway.http.routes.common import MAX_ID, check_id
from zvonar_gateway.http.schemas import CampaignOut, documented
from zvonar_gateway.service_layer.campaigns import act, campaign_after
from zvonar_gateway.service_layer.ports import Backend

_ID = "/api/v1/campaigns/{campaign_id:int}"
CampaignId = Annotated[int, msgspec.Meta(ge=1, lt=MAX_ID)]


class CommentBody(msgspec.Struct, forbid_unknown_fields=True):
    text: CommentText


class DeleteBody(msgspec.Struct, forbid_unknown_fields=True):
    ids: Annotated[list[CampaignId], msgspec.Meta(min_length=1, max_length=MAX_DELETE_IDS)]


class Deleted(msgspec.Struct):
    deleted: list[int]


@post(
    f"{_ID}/pause",
    status_code=200,
    tags=["actions"],
    summary="Pause",
    responses=documented(200, CampaignOut, "the campaign after the change"),
)
async def pause(
    account: NamedDependency[Account], backend: NamedDependency[Backend], campaign_id: FromPath[int]
) -> dict[str, Any]:
    cid = check_id(campaign_id)
    return await act(backend, account, PauseCampaign(account_id=account.id, campaign_id=cid), cid)


@post(
    f"{_ID}/resume",
    status_code=200,
    tags=["actions"],
    summary="Resume",
    responses=documented(200, CampaignOut, "the campaign after the change"),
)
async def resume(
    account: NamedDependency[Account], backend: NamedDependency[Backend], campaign_id: FromPath[int]
) -> dict[str, Any]:
    cid = check_id(campaign_id)
    return await act(backend, account, ResumeCampaign(account_id=account.id, campaign_id=cid), cid)


@post(
    f"{_ID}/stop",
    status_code=200,
    tags=["actions"],
    summary="Stop",
    responses=documented(200, CampaignOut, "the campaign after the change"),
)
async def stop(
    account: NamedDependency[Account], backend: NamedDependency[Backend], campaign_id: FromPath[int]
) -> dict[str, Any]:
    cid = check_id(campaign_id)
    return await act(backend, account, StopCampaign(account_id=account.id, campaign_id=cid), cid)


@post(
    f"{_ID}/smart/cancel-last",
    status_code=200,
    tags=["actions"],
    summary="Cancel the last smart part",
    responses=documented(200, CampaignOut, "the campaign after the change"),
)
async def cancel_last(
    account: NamedDependency[Account], backend: NamedDependency[Backend], campaign_id: FromPath[int]
) -> dict[str, Any]:
    cid = check_id(campaign_id)
    command = CancelLastSmartPart(account_id=account.id, campaign_id=cid)
    return await act(backend, account, command, cid)


@post(
    f"{_ID}/smart/cancel-all",
    status_code=200,
    tags=["actions"],
    summary="Cancel every smart part",
    responses=documented(200, CampaignOut, "the campaign after the change"),
)
async def cancel_all(
    account: NamedDependency[Account], backend: NamedDependency[Backend], campaign_id: FromPath[int]
) -> dict[str, Any]:
    cid = check_id(campaign_id)
    command = CancelAllSmartParts(account_id=account.id, campaign_id=cid)
    return await act(backend, account, command, cid)


@post(
    f"{_ID}/release-number",
    status_code=200,
    tags=["actions"],
    summary="Release the caller number",
    responses=documented(200, CampaignOut, "the campaign after the change"),
)
async def release_number(
    account: NamedDependency[Account], backend: NamedDependency[Backend], campaign_id: FromPath[int]
) -> dict[str, Any]:
    cid = check_id(campaign_id)
    return await act(backend, account, ReleaseNumber(account_id=account.id, campaign_id=cid), cid)


@put(
    f"{_ID}/comment",
    tags=["actions"],
    summary="Set the customer's comment",
    responses=documented(200, CampaignOut, "the campaign after the change"),
)
async def set_comment(
    account: NamedDependency[Account],
    backend: NamedDependency[Backend],
    campaign_id: FromPath[int],
    data: JSONBody[CommentBody],
) -> dict[str, Any]:
    cid = check_id(campaign_id)
    command = SetComment(account_id=account.id, campaign_id=cid, text=data.text)
    return await act(backend, account, command, cid)


@post(
    f"{_ID}/copy",
    status_code=201,
    tags=["actions"],
    summary="Copy into a new campaign",
    responses=documented(201, CampaignOut, "the new campaign, in moderation"),
)
async def copy(
    account: NamedDependency[Account], backend: NamedDependency[Backend], campaign_id: FromPath[int]
) -> dict[str, Any]:
    cid = check_id(campaign_id)
    command = CopyCampaign(account_id=account.id, campaign_id=cid, account_tz=account.timezone)
    ok = await backend.command(command)
    return await campaign_after(backend, account, ok)


@post("/api/v1/campaigns/delete", status_code=200, tags=["actions"], summary="Delete campaigns")
async def delete(
    account: NamedDependency[Account], backend: NamedDependency[Backend], data: JSONBody[DeleteBody]
) -> Deleted:
    ids = list(dict.fromkeys(data.ids))
    ok = await backend.command(DeleteCampaigns(account_id=account.id, campaign_ids=ids))
    return Deleted(deleted=list(ok.deleted))


HANDLERS = [pause, resume, stop, cancel_last, cancel_all, release_number, set_comment, copy, delete]
