"""Actions on one campaign, written once: the API (http/routes/actions.py, docs/API.md "Act")
and the page's row buttons (web/list_routes.py, web/view.py) both come from `ACTIONS`.

An action names its command, the statuses a row offers it from, and its words: the API's
summary and answer, the page's message once done. The campaign service has the last word on
a move (a refused one is a 409 `invalid_transition`); `allowed_from` only decides which
buttons a row shows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from zvonar_contracts.commands import (
    CampaignCommand,
    CancelAllSmartParts,
    CancelLastSmartPart,
    CommandOk,
    CopyCampaign,
    DeleteCampaigns,
    PauseCampaign,
    ReleaseNumber,
    ResumeCampaign,
    SetComment,
    StopCampaign,
)
from zvonar_contracts.options import FINAL_STATUSES, Status
from zvonar_contracts.queries import CampaignView, ListCampaigns
from zvonar_gateway.domain.account import Account
from zvonar_gateway.service_layer.campaigns import campaign_after, read_campaign
from zvonar_gateway.service_layer.errors import ApiError
from zvonar_gateway.service_layer.ports import Backend

# Builds an action's command: the account acting, the campaign, the text (only the comment's).
CommandOf = Callable[[Account, int, str], CampaignCommand]


_AFTER = "the campaign after the change"


@dataclass(frozen=True, kw_only=True)
class Action:
    name: str  # the page's name: POST /campaigns/{id}/do/<name>
    path: str  # the API's: /api/v1/campaigns/{id}/<path>
    command: CommandOf
    summary: str  # the API operation's summary
    # The statuses a row offers the action from; None: every status (the service decides).
    allowed_from: frozenset[Status] | None = None
    answer: str = _AFTER  # the API's description of its answer
    done: Literal["done", "copied"] = "done"  # the page's word once done (web/i18n.py)
    method: Literal["POST", "PUT"] = "POST"
    # 201: the answer is a new campaign (the copy), read by the id the command gave.
    creates: bool = False
    takes_text: bool = False  # the comment: its text comes with the request


_PAUSABLE = frozenset({Status.ACCEPTED, Status.SCHEDULED, Status.IN_PROGRESS, Status.PAUSED_WINDOW})
_NOT_FINAL = frozenset(set(Status) - set(FINAL_STATUSES))


def _simple(
    kind: Callable[..., CampaignCommand],
) -> CommandOf:
    return lambda account, campaign_id, _text: kind(account_id=account.id, campaign_id=campaign_id)


ACTIONS: Mapping[str, Action] = {
    action.name: action
    for action in (
        Action(
            name="pause",
            path="pause",
            command=_simple(PauseCampaign),
            allowed_from=_PAUSABLE,
            summary="Pause",
        ),
        Action(
            name="resume",
            path="resume",
            command=_simple(ResumeCampaign),
            allowed_from=frozenset({Status.PAUSED}),
            summary="Resume",
        ),
        Action(
            name="stop",
            path="stop",
            command=_simple(StopCampaign),
            allowed_from=_NOT_FINAL,
            summary="Stop",
        ),
        # Parts are cancelled while the main campaign runs: it finishes only after its last
        # part, so a finished (or stopped, rejected) one has none left to cancel.
        Action(
            name="cancel-last",
            path="smart/cancel-last",
            command=_simple(CancelLastSmartPart),
            allowed_from=_NOT_FINAL,
            summary="Cancel the last smart part",
        ),
        Action(
            name="cancel-all",
            path="smart/cancel-all",
            command=_simple(CancelAllSmartParts),
            allowed_from=_NOT_FINAL,
            summary="Cancel every smart part",
        ),
        Action(
            name="release-number",
            path="release-number",
            command=_simple(ReleaseNumber),
            summary="Release the caller number",
        ),
        Action(
            name="comment",
            path="comment",
            command=lambda account, campaign_id, text: SetComment(
                account_id=account.id, campaign_id=campaign_id, text=text
            ),
            summary="Set the customer's comment",
            method="PUT",
            takes_text=True,
        ),
        Action(
            name="copy",
            path="copy",
            command=lambda account, campaign_id, _text: CopyCampaign(
                account_id=account.id, campaign_id=campaign_id, account_tz=account.timezone
            ),
            summary="Copy into a new campaign",
            answer="the new campaign, in moderation",
            done="copied",
            creates=True,
        ),
    )
}


def action_named(name: str) -> Action:
    """The action of this name; 404 when there is none."""
    action = ACTIONS.get(name)
    if action is None:
        raise ApiError(404, "not_found", f"no action {name!r}")
    return action


def offered(action: Action, status: Status) -> bool:
    """Whether a campaign in `status` offers the action (a row's button)."""
    return action.allowed_from is None or status in action.allowed_from


async def run_action(
    backend: Backend, account: Account, action: Action, campaign_id: int, text: str = ""
) -> CampaignView:
    """Send the action's command about one campaign; answer the campaign after it (the new
    one for a copy), as stats shows it once it has applied the command."""
    ok = await backend.command(action.command(account, campaign_id, text))
    if action.creates:
        return await campaign_after(backend, account, ok)
    campaign_id = ok.campaign.campaign_id if ok.campaign else campaign_id
    return await read_campaign(backend, account, campaign_id, min_position=ok.position)


async def delete_campaigns(backend: Backend, account: Account, ids: list[int]) -> CommandOk:
    """Delete the account's campaigns among `ids` (each once); `deleted` names them."""
    return await backend.command(
        DeleteCampaigns(account_id=account.id, campaign_ids=list(dict.fromkeys(ids)))
    )


async def wait_applied(backend: Backend, account: Account, position: int) -> None:
    """Return once stats has applied the log up to `position` (a list read that waits)."""
    await backend.query(ListCampaigns(account_id=account.id, per_page=1, min_position=position))
