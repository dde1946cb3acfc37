"""Events of the CAMPAIGN_EVENTS stream: the campaign lifecycle and the stop-list.

Each is a fact stored by the campaign service, and the one declaration of its fields: the
campaign service's domain events carry these structs as they are. `type` (the class name)
tags the union, so a consumer decodes any of them in one call; `schema_version` lets a reader
handle old shapes.

`status` on a lifecycle event is the campaign's status after it, filled by the campaign
service: a consumer need not work it out. It is optional on the events that gained it later
(`None` in messages published before), required where it always was (moderation,
resume).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from zvonar_contracts.options import CampaignOptions, PhoneBaseRef, Status

PausedBy = Literal["customer", "system"]
Decision = Literal["accepted", "rejected", "clarification"]
DecidedBy = Literal["rules", "moderator"]
IdleReason = Literal[
    "window_closed",
    "all_stop_listed",
    "smart_part_delay",
    "paused_by_system",
    "no_audio",
    "no_free_channel",
]


class CampaignEventBase(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    campaign_id: int
    account_id: str
    at: dt.datetime
    schema_version: int = 1


class CampaignCreated(CampaignEventBase, frozen=True, tag=True):
    options: CampaignOptions
    phones: PhoneBaseRef
    account_tz: str
    copied_from: int | None = None


class CampaignModerated(CampaignEventBase, frozen=True, tag=True):
    decision: Decision
    decided_by: DecidedBy
    status: Status  # status after the decision: accepted, scheduled, clarification or rejected
    reason: str = ""


class CampaignScheduled(CampaignEventBase, frozen=True, tag=True):
    start_at: dt.datetime
    status: Status | None = None  # scheduled (None in older messages)


class CampaignStarted(CampaignEventBase, frozen=True, tag=True):
    started_at: dt.datetime
    note: str = ""  # the standing system comment of StartCampaign ("" for none)
    status: Status | None = None  # in_progress (None in older messages)


class CampaignPaused(CampaignEventBase, frozen=True, tag=True):
    paused_by: PausedBy
    reason: str = ""
    status: Status | None = None  # paused (None in older messages)


class CampaignResumed(CampaignEventBase, frozen=True, tag=True):
    status: Status  # where it belongs now: in_progress, scheduled or paused_window
    note: str = ""  # the standing system comment, back in place of the pause's reason


class CampaignOutOfWindow(CampaignEventBase, frozen=True, tag=True):
    reopens_at: dt.datetime | None = None
    status: Status | None = None  # paused_window (None in older messages)


class CampaignFinished(CampaignEventBase, frozen=True, tag=True):
    status: Status | None = None  # finished (None in older messages)


class CampaignStopped(CampaignEventBase, frozen=True, tag=True):
    stopped_by: PausedBy = "customer"
    reason: str = ""
    status: Status | None = None  # stopped (None in older messages)


class CampaignFailed(CampaignEventBase, frozen=True, tag=True):
    reason: str
    status: Status | None = None  # error (None in older messages)


class CampaignCommentChanged(CampaignEventBase, frozen=True, tag=True):
    text: str


class CampaignNumberReleased(CampaignEventBase, frozen=True, tag=True):
    number: str


class SmartPartStarted(CampaignEventBase, frozen=True, tag=True):
    """Part `part` (1-based) of a smart broadcast began; it is shown as its own row."""

    part: int
    part_campaign_id: int
    phone_count: int
    started_at: dt.datetime | None = None  # the dialer's clock; None in events before v1.1


class SmartPartFinished(CampaignEventBase, frozen=True, tag=True):
    part: int
    part_campaign_id: int


class SmartPartsCancelled(CampaignEventBase, frozen=True, tag=True):
    parts: list[int]  # the part numbers cancelled (started or not)


class CampaignCopied(CampaignEventBase, frozen=True, tag=True):
    new_campaign_id: int


class CampaignDeleted(CampaignEventBase, frozen=True, tag=True):
    pass


class CampaignIdle(CampaignEventBase, frozen=True, tag=True):
    """A running campaign makes no calls; the reason tells the customer why."""

    reason: IdleReason
    until: dt.datetime | None = None


class StopListEventBase(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    account_id: str
    at: dt.datetime
    schema_version: int = 1


class StopListPhonesAdded(StopListEventBase, frozen=True, tag=True):
    phones: list[str]


class StopListPhonesRemoved(StopListEventBase, frozen=True, tag=True):
    phones: list[str]


CampaignEvent = (
    CampaignCreated
    | CampaignModerated
    | CampaignScheduled
    | CampaignStarted
    | CampaignPaused
    | CampaignResumed
    | CampaignOutOfWindow
    | CampaignFinished
    | CampaignStopped
    | CampaignFailed
    | CampaignCommentChanged
    | CampaignNumberReleased
    | SmartPartStarted
    | SmartPartFinished
    | SmartPartsCancelled
    | CampaignCopied
    | CampaignDeleted
    | CampaignIdle
)

StopListEvent = StopListPhonesAdded | StopListPhonesRemoved

# Everything the CAMPAIGN_EVENTS stream carries.
CampaignStreamEvent = CampaignEvent | StopListEvent

CAMPAIGN_EVENT_TYPES: tuple[type, ...] = CampaignEvent.__args__
STOP_LIST_EVENT_TYPES: tuple[type, ...] = StopListEvent.__args__
