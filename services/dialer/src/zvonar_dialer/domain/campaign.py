"""What the dialer knows of a campaign, and how the campaign stream's events change it.

The campaign service owns the status; the dialer keeps its own copy from the events and
from the replies to its own commands. `status_position` is the campaign-log position that
copy reflects, so an event older than a command reply the dialer already applied does not
move the status back.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from zvonar_contracts import campaign_events as ev
from zvonar_contracts.options import CallerIdRouting, CampaignOptions, PhoneBaseRef, Status

# Statuses in which the dialer has work to do (or to wait for).
ACTIVE_STATUSES: frozenset[Status] = frozenset(
    {Status.ACCEPTED, Status.SCHEDULED, Status.IN_PROGRESS, Status.PAUSED_WINDOW}
)
PartState = Literal["dialling", "waiting", "starting", "done"]


class Campaign(msgspec.Struct, kw_only=True):
    campaign_id: int
    account_id: str
    account_tz: str
    options: CampaignOptions
    phones: PhoneBaseRef
    status: Status = Status.MODERATION
    status_position: int = 0
    start_at: dt.datetime | None = None
    loaded: bool = False  # the phone base is in the numbers table
    message_ready: bool = False  # campaign/<id>/message.wav is in the audio bucket
    message_duration_s: float = 0.0
    number_released: bool = False
    current_part: int = 0
    part_state: PartState = "dialling"
    pending_part: int | None = None
    part_due_at: dt.datetime | None = None
    part_campaign_ids: dict[int, int] = {}
    cancelled_parts: list[int] = []
    finished_parts: list[int] = []
    next_call_at: dt.datetime | None = None
    idle_reported: str = ""  # the last ReportIdle sent, so it is sent once per stretch
    system_paused: bool = False  # paused by this dialer (carrier down): it resumes it too

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def caller_number(self) -> str | None:
        """The dedicated caller number, unless the customer released it."""
        routing = self.options.routing
        if isinstance(routing, CallerIdRouting) and not self.number_released:
            return routing.number
        return None

    @property
    def smart_parts(self) -> int:
        return self.options.smart.parts if self.options.smart else 0


def new_campaign(event: ev.CampaignCreated) -> Campaign:
    return Campaign(
        campaign_id=event.campaign_id,
        account_id=event.account_id,
        account_tz=event.account_tz,
        options=event.options,
        phones=event.phones,
        start_at=event.options.start_at,
    )


def set_status(campaign: Campaign, status: Status, position: int | None) -> None:
    """Take a status from an event or a command reply unless a newer one is already known."""
    if position is not None and position <= campaign.status_position:
        return
    campaign.status = status
    if position is not None:
        campaign.status_position = position


# The status each lifecycle event implies: the fallback for messages published before the
# events carried their `status` (None there). `CampaignDeleted` carries none: for the dialer
# a deleted campaign is stopped (nothing more to dial).
STATUS_OF_EVENT: dict[type, Status] = {
    ev.CampaignStarted: Status.IN_PROGRESS,
    ev.CampaignPaused: Status.PAUSED,
    ev.CampaignOutOfWindow: Status.PAUSED_WINDOW,
    ev.CampaignFinished: Status.FINISHED,
    ev.CampaignStopped: Status.STOPPED,
    ev.CampaignFailed: Status.ERROR,
    ev.CampaignDeleted: Status.STOPPED,
}


def status_after(event: ev.CampaignEvent) -> Status | None:
    """The status a lifecycle event leaves its campaign in: the event's own `status` when it
    carries one, else (older messages, `CampaignDeleted`) the one its kind implies; None for
    an event that does not change the status."""
    status: Status | None = getattr(event, "status", None)
    if status is not None and not isinstance(event, ev.CampaignDeleted):
        return status
    return STATUS_OF_EVENT.get(type(event))


def apply_event(campaign: Campaign, event: ev.CampaignEvent, position: int | None) -> None:
    """Fold one campaign event into the dialer's copy (idempotent)."""
    if isinstance(event, ev.CampaignModerated):
        set_status(campaign, event.status, position)
    elif isinstance(event, ev.CampaignScheduled):
        campaign.start_at = event.start_at
        set_status(campaign, event.status or Status.SCHEDULED, position)
    elif isinstance(event, ev.CampaignResumed):
        set_status(campaign, event.status, position)
        campaign.next_call_at = None  # pacing starts afresh: no burst for the time paused
        campaign.system_paused = False  # resumed, by whoever
    elif type(event) in STATUS_OF_EVENT and (status := status_after(event)) is not None:
        set_status(campaign, status, position)
    elif isinstance(event, ev.CampaignNumberReleased):
        campaign.number_released = True
    elif isinstance(event, ev.SmartPartStarted):
        part_started(campaign, event.part, event.part_campaign_id)
    elif isinstance(event, ev.SmartPartFinished):
        if event.part not in campaign.finished_parts:
            campaign.finished_parts = [*campaign.finished_parts, event.part]
    elif isinstance(event, ev.SmartPartsCancelled):
        cancel_parts(campaign, event.parts)
    elif isinstance(event, ev.CampaignIdle):
        campaign.idle_reported = event.reason


def part_started(campaign: Campaign, part: int, part_campaign_id: int | None) -> None:
    """Part `part` is recorded by the campaign service: dial it (once its numbers are in)."""
    if part_campaign_id is not None:
        campaign.part_campaign_ids = {**campaign.part_campaign_ids, part: part_campaign_id}
    if campaign.part_state == "starting" and campaign.pending_part == part:
        campaign.current_part = part
        campaign.part_state = "dialling"
        campaign.pending_part = None
        campaign.idle_reported = ""


def cancel_parts(campaign: Campaign, parts: list[int]) -> None:
    campaign.cancelled_parts = sorted({*campaign.cancelled_parts, *parts})
    # A part whose numbers were already chosen but not announced is dropped as well.
    if campaign.part_state == "starting" and campaign.pending_part in parts:
        campaign.current_part = campaign.pending_part
        campaign.part_state = "dialling"
        campaign.pending_part = None


def part_cancelled(campaign: Campaign, part: int) -> bool:
    return part > 0 and part in campaign.cancelled_parts
