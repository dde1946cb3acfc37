"""Actions on a campaign: each answers the campaign after the change (docs/API.md "Act").
One handler per entry of the action table (service_layer/actions.py), and the bulk delete."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import post, route
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody

from zvonar_contracts.limits import MAX_DELETE_IDS, CommentText
from zvonar_gateway.domain.account import Account
from zvonar_gateway.http.providers import BackendDep
from zvonar_gateway.http.render import render_campaign
from zvonar_gateway.http.routes.common import MAX_ID, check_id
from zvonar_gateway.http.schemas import CampaignOut, documented
from zvonar_gateway.service_layer.actions import ACTIONS, Action, delete_campaigns, run_action

_ID = "/api/v1/campaigns/{campaign_id:int}"
CampaignId = Annotated[int, msgspec.Meta(ge=1, lt=MAX_ID)]


class CommentBody(msgspec.Struct, forbid_unknown_fields=True):
    text: CommentText


class DeleteBody(msgspec.Struct, forbid_unknown_fields=True):
    ids: Annotated[list[CampaignId], msgspec.Meta(min_length=1, max_length=MAX_DELETE_IDS)]


class Deleted(msgspec.Struct):
    deleted: list[int]


# The handler's name makes the operation's id (`…PausePause`, `…CommentSetComment`): the
# names the API had before the table, so the OpenAPI document keeps its operation ids.
_HANDLER_NAMES = {
    "cancel-last": "cancel_last",
    "cancel-all": "cancel_all",
    "release-number": "release_number",
    "comment": "set_comment",
}


def _route(action: Action, handler: Any) -> HTTPRouteHandler:
    handler.__name__ = handler.__qualname__ = _HANDLER_NAMES.get(action.name, action.name)
    status = 201 if action.creates else 200
    return route(
        f"{_ID}/{action.path}",
        http_method=action.method,
        status_code=status,
        tags=["actions"],
        summary=action.summary,
        responses=documented(status, CampaignOut, action.answer),
    )(handler)


def action_handler(action: Action) -> HTTPRouteHandler:
    """The API's handler of one action: the command, then the campaign after it."""
    if action.takes_text:

        async def with_text(
            account: NamedDependency[Account],
            backend: BackendDep,
            campaign_id: FromPath[int],
            data: JSONBody[CommentBody],
        ) -> CampaignOut:
            cid = check_id(campaign_id)
            view = await run_action(backend, account, action, cid, data.text)
            return render_campaign(view, account.timezone)

        return _route(action, with_text)

    async def without_text(
        account: NamedDependency[Account],
        backend: BackendDep,
        campaign_id: FromPath[int],
    ) -> CampaignOut:
        cid = check_id(campaign_id)
        view = await run_action(backend, account, action, cid)
        return render_campaign(view, account.timezone)

    return _route(action, without_text)


@post("/api/v1/campaigns/delete", status_code=200, tags=["actions"], summary="Delete campaigns")
async def delete(
    account: NamedDependency[Account], backend: BackendDep, data: JSONBody[DeleteBody]
) -> Deleted:
    ok = await delete_campaigns(backend, account, data.ids)
    return Deleted(deleted=list(ok.deleted))


HANDLERS = [*(action_handler(action) for action in ACTIONS.values()), delete]
