"""An event too large for NATS, written straight into the campaign service's event store
(below the gateway and every check): for the relay's integration test and the stack test."""

from __future__ import annotations

from typing import Any

from zvonar_campaign.domain.campaign import Campaign
from zvonar_campaign.domain.ids import campaign_uuid
from zvonar_contracts import subjects
from zvonar_contracts.campaign_events import CampaignCommentChanged
from zvonar_contracts.codec import encode
from zvonar_runtime.payload import message_size


def comment_too_large_for(app: Any, campaign_id: int, max_payload: int) -> str:
    """A comment whose CampaignCommentChanged event is a few bytes under the max payload on
    its own and over it once the relay's headers are added: the case nats-py lets through
    and nats-server answers by closing the connection."""
    campaign: Campaign = app.repository.get(campaign_uuid(campaign_id))

    def payload(text: str) -> bytes:
        # What the relay publishes for the event: the contract struct it carries.
        return encode(
            CampaignCommentChanged(
                campaign_id=campaign.campaign_id,
                account_id=campaign.account_id,
                at=campaign.modified_on,
                text=text,
            )
        )

    text = "x" * (max_payload - len(payload("")) - 16)
    headers = {subjects.MSG_ID_HEADER: "cl-1", subjects.POSITION_HEADER: "1"}
    assert len(payload(text)) <= max_payload < message_size(payload(text), headers)
    return text


def store_comment(app: Any, campaign_id: int, text: str) -> int:
    """Records a CommentChanged past every check; returns its position in the log."""
    campaign: Campaign = app.repository.get(campaign_uuid(campaign_id))
    campaign._record(Campaign.CommentChanged, text=text)
    # The position of this event, not the log's end: the stack records other campaigns'
    # events meanwhile (max_position() read after the save raced them).
    recordings = app.save(campaign)
    return int(recordings[-1].notification.id)
