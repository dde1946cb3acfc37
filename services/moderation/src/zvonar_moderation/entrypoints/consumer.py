"""The durable pull consumer of CampaignCreated events (`moderation-created`).

Explicit acks: a message is acked once its decision is sent and recorded; a handler error
nacks it for redelivery; an unanswered command is nacked with a delay; a payload that is not
a CampaignCreated can never succeed and is terminated with a log line.
"""

from __future__ import annotations

import msgspec
import structlog
from faststream import AckPolicy
from faststream.exceptions import NackMessage, RejectMessage
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.annotations import NatsMessage

from zvonar_contracts.campaign_events import CampaignCreated
from zvonar_contracts.codec import decode
from zvonar_contracts.subjects import CAMPAIGN_EVENTS_STREAM, campaign_event_filter
from zvonar_moderation.service_layer.handlers import Dependencies, moderate_new_campaign
from zvonar_moderation.service_layer.ports import CampaignServiceUnavailable

log = structlog.get_logger("zvonar.moderation.consumer")

CREATED_FILTER = campaign_event_filter("CampaignCreated")
# Well inside the consumer's ack wait, so a long outage costs few idle redeliveries.
MAX_RETRY_DELAY = 15.0


def register_consumer(
    broker: NatsBroker, deps: Dependencies, *, durable: str, retry_delay: float
) -> None:
    @broker.subscriber(
        CREATED_FILTER,
        # The stream is created by the runtime with its own config: never redeclare it.
        stream=JStream(CAMPAIGN_EVENTS_STREAM, declare=False),
        durable=durable,
        pull_sub=PullSub(batch_size=10, timeout=1.0),
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def on_campaign_created(msg: NatsMessage) -> None:
        try:
            event = decode(msg.body, CampaignCreated)
        except msgspec.DecodeError as exc:
            log.error("malformed_campaign_created", subject=msg.raw_message.subject, error=str(exc))
            raise RejectMessage() from exc
        try:
            await moderate_new_campaign(event, deps)
        except CampaignServiceUnavailable as exc:
            delay = backoff(retry_delay, msg.raw_message.metadata.num_delivered or 1)
            log.warning(
                "campaign_service_unavailable",
                campaign_id=event.campaign_id,
                error=str(exc),
                retry_in=delay,
            )
            raise NackMessage(delay=delay) from exc


def backoff(base: float, delivered: int, ceiling: float = MAX_RETRY_DELAY) -> float:
    """Delay before the next delivery: doubles with each failed one, up to `ceiling`."""
    return min(base * 2.0 ** min(delivered - 1, 16), ceiling)
