"""The durable pull consumer of CAMPAIGN_EVENTS (`dialer-campaign-events`), on the runtime's
consumer kit.

One message in flight keeps the campaign log's order, also across redeliveries. A database
out of reach is retried for as long as it lasts; an event that fails five deliveries, or
that no version of the contract can read, is parked (the kit's log line and metric) and
the dialer's applied sequence moves past it, rather than block every campaign for ever.
"""

from __future__ import annotations

from collections.abc import Mapping

from nats.aio.client import Client

from zvonar_contracts.campaign_events import CampaignStreamEvent
from zvonar_contracts.codec import decode_campaign_stream_event
from zvonar_contracts.subjects import (
    CAMPAIGN_EVENTS_STREAM,
    CAMPAIGN_EVENTS_SUBJECTS,
    DIALER_CAMPAIGN_CONSUMER,
    POSITION_HEADER,
)
from zvonar_dialer.service_layer import campaign_events
from zvonar_dialer.service_layer.deps import Deps
from zvonar_dialer.service_layer.ports import Tx
from zvonar_runtime.consumer import Consumer, ConsumerSpec, Message, Parked

SPEC = ConsumerSpec(
    stream=CAMPAIGN_EVENTS_STREAM,
    durable=DIALER_CAMPAIGN_CONSUMER,
    filter_subject=CAMPAIGN_EVENTS_SUBJECTS[0],
    batch=1,
    max_wait=1.0,
    ack_wait=5.0,
    max_ack_pending=1,
    retry_base=0.1,
    retry_ceiling=2.0,
)


def _position(headers: Mapping[str, str]) -> int | None:
    value = headers.get(POSITION_HEADER)
    return int(value) if value and value.isdigit() else None


def consumer(nc: Client, deps: Deps) -> Consumer[CampaignStreamEvent]:
    """The consumer, not started: its `run` is one of the dialer's background jobs."""

    async def on_campaign_event(event: CampaignStreamEvent, message: Message) -> None:
        handle = campaign_events.handle(event, message.stream_seq, _position(message.headers))
        if await deps.db.run(handle):
            deps.scheduler_wakeup.set()

    async def skip(parked: Parked) -> None:
        sequence = parked.message.stream_seq

        def past(tx: Tx) -> None:
            if sequence > tx.applied_sequence():
                tx.set_applied_sequence(sequence)

        await deps.db.run(past)

    return Consumer(
        nc,
        SPEC,
        decode_campaign_stream_event,
        handle=on_campaign_event,
        park=skip,
        transient=deps.db.is_transient,
    )
