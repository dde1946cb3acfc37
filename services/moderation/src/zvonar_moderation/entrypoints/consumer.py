"""The durable pull consumer of CampaignCreated events (`moderation-created`), on the
runtime's consumer kit.

A message is acked once its decision is sent and recorded. The campaign service not
answering (or a busy database) is retried with back-off for as long as it lasts; any other
failure is retried and parked at its fifth delivery; a payload that is not a CampaignCreated
is parked at once — parked messages are rows of `moderation_parked`, a `message_parked` log
line and `zvonar_messages_parked_total`.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec
from nats.aio.client import Client

from zvonar_contracts.campaign_events import CampaignCreated
from zvonar_contracts.subjects import CAMPAIGN_EVENTS_STREAM, campaign_event_filter
from zvonar_moderation.service_layer.handlers import Dependencies, moderate_new_campaign
from zvonar_moderation.service_layer.ports import CampaignServiceUnavailable
from zvonar_runtime.consumer import Consumer, ConsumerSpec, Message, ParkHook

CREATED_FILTER = campaign_event_filter("CampaignCreated")
# Well inside the consumer's ack wait, so a long outage costs few idle redeliveries.
MAX_RETRY_DELAY = 15.0


def created_spec(durable: str, retry_delay: float) -> ConsumerSpec:
    return ConsumerSpec(
        stream=CAMPAIGN_EVENTS_STREAM,
        durable=durable,
        filter_subject=CREATED_FILTER,
        batch=10,
        max_wait=1.0,
        ack_wait=30.0,
        retry_base=retry_delay,
        retry_ceiling=MAX_RETRY_DELAY,
    )


def created_consumer(
    nc: Client,
    deps: Dependencies,
    *,
    durable: str,
    retry_delay: float,
    park: ParkHook,
    database_busy: Callable[[BaseException], bool],
) -> Consumer[CampaignCreated]:
    decoder = msgspec.json.Decoder(CampaignCreated)

    async def on_campaign_created(event: CampaignCreated, message: Message) -> None:
        await moderate_new_campaign(event, deps)

    def transient(exc: BaseException) -> bool:
        return isinstance(exc, CampaignServiceUnavailable) or database_busy(exc)

    return Consumer(
        nc,
        created_spec(durable, retry_delay),
        decoder.decode,
        handle=on_campaign_created,
        park=park,
        transient=transient,
    )
