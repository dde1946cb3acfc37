"""The contract event a stored domain event publishes: the struct it carries (its one
declaration), with the status a lifecycle event leads to filled in for events stored
before events carried it. No field is copied."""

from __future__ import annotations

from typing import cast

from zvonar_campaign.domain.events import PAYLOAD, with_status
from zvonar_contracts import campaign_events as w
from zvonar_contracts.campaign_events import CampaignStreamEvent


def to_wire(domain_event: object) -> CampaignStreamEvent | None:
    """The contract event for a stored domain event; None for StopList.Created, which only
    opens an account's stop-list and means nothing to anyone else."""
    payload = vars(domain_event).get(PAYLOAD)
    if isinstance(payload, w.CampaignEventBase):
        return cast(CampaignStreamEvent, with_status(payload))
    if isinstance(payload, w.StopListEventBase):
        return cast(CampaignStreamEvent, payload)
    return None
