"""The durable pull consumer of CAMPAIGN_EVENTS (`dialer-campaign-events`)."""

from __future__ import annotations

import msgspec
import structlog
from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.annotations import NatsMessage
from nats.js.api import ConsumerConfig

from zvonar_contracts.codec import decode_campaign_stream_event
from zvonar_contracts.subjects import (
    CAMPAIGN_EVENTS_STREAM,
    CAMPAIGN_EVENTS_SUBJECTS,
    DIALER_CAMPAIGN_CONSUMER,
    POSITION_HEADER,
)
from zvonar_dialer.service_layer import campaign_events
from zvonar_dialer.service_layer.deps import Deps

log = structlog.get_logger("zvonar.dialer.campaign_events")


def _position(headers: dict[str, str] | None) -> int | None:
    value = (headers or {}).get(POSITION_HEADER)
    return int(value) if value and value.isdigit() else None


def register(broker: NatsBroker, deps: Deps) -> None:
    @broker.subscriber(
        CAMPAIGN_EVENTS_SUBJECTS[0],
        stream=JStream(CAMPAIGN_EVENTS_STREAM, declare=False),
        durable=DIALER_CAMPAIGN_CONSUMER,
        # One message in flight keeps the campaign log's order, also across redeliveries.
        config=ConsumerConfig(max_ack_pending=1, ack_wait=5),
        pull_sub=PullSub(batch_size=1, timeout=1.0),
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def on_campaign_event(msg: NatsMessage) -> None:
        sequence = msg.raw_message.metadata.sequence.stream
        try:
            event = decode_campaign_stream_event(msg.body)
        except msgspec.DecodeError as exc:
            # A message no version of the contract can read would block the stream for ever.
            log.error("campaign_event_undecodable", sequence=sequence, error=str(exc))
            await deps.db.run(lambda tx: tx.set_applied_sequence(sequence))
            return
        position = _position(msg.headers)
        if await deps.db.run(campaign_events.handle(event, sequence, position)):
            deps.scheduler_wakeup.set()
