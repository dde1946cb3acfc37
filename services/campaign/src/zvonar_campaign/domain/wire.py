"""The pure mapping of stored domain events onto the contract events of the wire (1:1)."""

from __future__ import annotations

from typing import Any

import msgspec

from zvonar_campaign.domain.campaign import Campaign
from zvonar_campaign.domain.stop_list import StopList
from zvonar_contracts import campaign_events as wire
from zvonar_contracts.campaign_events import CampaignStreamEvent
from zvonar_contracts.options import Status

WIRE_TYPES: dict[type, type[Any]] = {
    Campaign.Created: wire.CampaignCreated,
    Campaign.Moderated: wire.CampaignModerated,
    Campaign.Scheduled: wire.CampaignScheduled,
    Campaign.Started: wire.CampaignStarted,
    Campaign.Paused: wire.CampaignPaused,
    Campaign.Resumed: wire.CampaignResumed,
    Campaign.OutOfWindow: wire.CampaignOutOfWindow,
    Campaign.Finished: wire.CampaignFinished,
    Campaign.Stopped: wire.CampaignStopped,
    Campaign.Failed: wire.CampaignFailed,
    Campaign.CommentChanged: wire.CampaignCommentChanged,
    Campaign.NumberReleased: wire.CampaignNumberReleased,
    Campaign.SmartPartStarted: wire.SmartPartStarted,
    Campaign.SmartPartFinished: wire.SmartPartFinished,
    Campaign.SmartPartsCancelled: wire.SmartPartsCancelled,
    Campaign.Copied: wire.CampaignCopied,
    Campaign.Deleted: wire.CampaignDeleted,
    Campaign.Idle: wire.CampaignIdle,
    StopList.PhonesAdded: wire.StopListPhonesAdded,
    StopList.PhonesRemoved: wire.StopListPhonesRemoved,
}


def to_wire(domain_event: object) -> CampaignStreamEvent | None:
    """The contract event for a stored domain event; None for StopList.Created, which only
    opens an account's stop-list and means nothing to anyone else."""
    wire_type = WIRE_TYPES.get(type(domain_event))
    if wire_type is None:
        return None
    state = vars(domain_event)
    fields: dict[str, Any] = {"at": state["timestamp"]}
    for field in msgspec.structs.fields(wire_type):
        if field.name in state and field.name != "at":
            fields[field.name] = state[field.name]
    if "status" in fields:
        fields["status"] = Status(fields["status"])
    result: CampaignStreamEvent = wire_type(**fields)
    return result
