"""Commands to the campaign service (request-reply on `campaign.cmd.<Type>`) and their replies.

A command is imperative and has one handler. Every command names the account it acts for,
and the campaign service applies it only to that account's campaigns (another account's
answers `not_found`): a customer's command carries the customer's account; the dialer's and
moderation's carry the account of the campaign, from its events; a moderator's carries the
owner the gateway looked up. A command without one is malformed (a `validation` error).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from zvonar_contracts.campaign_events import DecidedBy, Decision, IdleReason, PausedBy
from zvonar_contracts.limits import (
    CommentText,
    DeleteIds,
    Hash,
    IdempotencyKey,
    Reason,
    StopListPhones,
    Timezone,
)
from zvonar_contracts.options import CampaignOptions, PhoneBaseRef, Status


class CommandBase(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    account_id: Annotated[str, msgspec.Meta(min_length=1)]


class CampaignCommandBase(CommandBase, frozen=True, kw_only=True):
    campaign_id: int


class CreateCampaign(CommandBase, frozen=True, tag=True):
    account_tz: Timezone
    options: CampaignOptions
    phones: PhoneBaseRef
    idempotency_key: IdempotencyKey | None = None
    request_hash: Hash = ""  # hash of the request body, to tell a replay from a key reuse


class ModerateCampaign(CampaignCommandBase, frozen=True, tag=True):
    decision: Decision
    decided_by: DecidedBy
    reason: Reason = ""


class StartCampaign(CampaignCommandBase, frozen=True, tag=True):
    started_at: dt.datetime
    # A standing system comment the dialer gives at the start: something its carrier cannot
    # do for this campaign (IVR words over SIP with no recognizer). It stays for the whole
    # run: a pause's reason replaces it while paused, a resume brings it back.
    note: Reason = ""


class PauseCampaign(CampaignCommandBase, frozen=True, tag=True):
    paused_by: PausedBy = "customer"
    reason: Reason = ""


class ResumeCampaign(CampaignCommandBase, frozen=True, tag=True):
    # Filled by system resumes (window reopened): where the campaign goes. A customer's
    # resume leaves it None: the campaign service decides from the dialer's clock, read from
    # its KV entry (no request to the dialer), and the dialer places the campaign after the
    # event.
    status: Status | None = None


class StopCampaign(CampaignCommandBase, frozen=True, tag=True):
    stopped_by: PausedBy = "customer"
    reason: Reason = ""


class MarkOutOfWindow(CampaignCommandBase, frozen=True, tag=True):
    reopens_at: dt.datetime | None = None


class FinishCampaign(CampaignCommandBase, frozen=True, tag=True):
    pass


class FailCampaign(CampaignCommandBase, frozen=True, tag=True):
    reason: Reason


class SetComment(CampaignCommandBase, frozen=True, tag=True):
    text: CommentText


class ReleaseNumber(CampaignCommandBase, frozen=True, tag=True):
    pass


class StartSmartPart(CampaignCommandBase, frozen=True, tag=True):
    part: int
    phone_count: int
    started_at: dt.datetime | None = None  # the dialer's clock


class FinishSmartPart(CampaignCommandBase, frozen=True, tag=True):
    part: int


class CancelLastSmartPart(CampaignCommandBase, frozen=True, tag=True):
    pass


class CancelAllSmartParts(CampaignCommandBase, frozen=True, tag=True):
    pass


class CopyCampaign(CampaignCommandBase, frozen=True, tag=True):
    account_tz: Timezone


class ReportIdle(CampaignCommandBase, frozen=True, tag=True):
    reason: IdleReason
    until: dt.datetime | None = None


class DeleteCampaigns(CommandBase, frozen=True, tag=True):
    campaign_ids: DeleteIds


class AddToStopList(CommandBase, frozen=True, tag=True):
    phones: StopListPhones


class RemoveFromStopList(CommandBase, frozen=True, tag=True):
    phones: StopListPhones


CampaignCommand = (
    CreateCampaign
    | ModerateCampaign
    | StartCampaign
    | PauseCampaign
    | ResumeCampaign
    | StopCampaign
    | MarkOutOfWindow
    | FinishCampaign
    | FailCampaign
    | SetComment
    | ReleaseNumber
    | StartSmartPart
    | FinishSmartPart
    | CancelLastSmartPart
    | CancelAllSmartParts
    | CopyCampaign
    | ReportIdle
    | DeleteCampaigns
    | AddToStopList
    | RemoveFromStopList
)
CAMPAIGN_COMMAND_TYPES: tuple[type, ...] = CampaignCommand.__args__


# --- replies -------------------------------------------------------------------------------

ErrorCode = Literal["invalid_transition", "not_found", "validation", "conflict"]


class ErrorDetail(msgspec.Struct, frozen=True):
    field: str
    message: str


class CampaignState(msgspec.Struct, frozen=True, kw_only=True):
    """The write side's view of a campaign after a command."""

    campaign_id: int
    account_id: str
    status: Status
    part_campaign_id: int | None = None  # StartSmartPart: the number given to the part's row
    replayed: bool = False  # CreateCampaign: an Idempotency-Key replay, nothing new created
    # CreateCampaign: when the new campaign was stored (its CampaignCreated's `at`), so the
    # gateway can answer the create without waiting for stats. None from an older service.
    created_at: dt.datetime | None = None


class CommandOk(msgspec.Struct, frozen=True, kw_only=True, tag="ok", tag_field="result"):
    position: int  # notification-log position of the last event stored (0: nothing stored)
    campaign: CampaignState | None = None
    deleted: list[int] = []


class CommandError(msgspec.Struct, frozen=True, kw_only=True, tag="error", tag_field="result"):
    code: ErrorCode
    message: str
    details: list[ErrorDetail] = []


CommandReply = CommandOk | CommandError
