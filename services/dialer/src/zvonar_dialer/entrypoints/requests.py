"""Request-reply subscribers on `dialer.req.<Type>` (queue group `dialer`)."""

from __future__ import annotations

import msgspec
from faststream.nats import NatsBroker
from faststream.nats.annotations import NatsMessage
from faststream.nats.subscriber import CoreSubscriber

from zvonar_contracts.codec import decode, encode
from zvonar_contracts.dialer import (
    InboundCall,
    ListWebhookDeliveries,
    QuoteCost,
    SynthesizePreview,
)
from zvonar_contracts.subjects import DIALER_REQUESTS_QUEUE, dialer_request_subject
from zvonar_dialer.service_layer import requests
from zvonar_dialer.service_layer.deps import Deps


class RequestError(msgspec.Struct, frozen=True):
    error: str


def register(broker: NatsBroker, deps: Deps) -> None:
    def subscriber(name: str) -> CoreSubscriber:
        return broker.subscriber(dialer_request_subject(name), queue=DIALER_REQUESTS_QUEUE)

    @subscriber("GetClock")
    async def get_clock(msg: NatsMessage) -> bytes:
        return encode(requests.clock(deps))

    @subscriber("SynthesizePreview")
    async def synthesize_preview(msg: NatsMessage) -> bytes:
        try:
            request = decode(msg.body, SynthesizePreview)
        except msgspec.DecodeError as exc:
            return encode(RequestError(error=str(exc)))
        return encode(await requests.synthesize_preview(deps, request))

    @subscriber("QuoteCost")
    async def quote_cost(msg: NatsMessage) -> bytes:
        try:
            request = decode(msg.body, QuoteCost)
        except msgspec.DecodeError as exc:
            return encode(RequestError(error=str(exc)))
        return encode(await requests.quote(deps, request))

    @subscriber("InboundCall")
    async def inbound_call(msg: NatsMessage) -> bytes:
        try:
            request = decode(msg.body, InboundCall)
        except msgspec.DecodeError as exc:
            return encode(RequestError(error=str(exc)))
        return encode(await requests.inbound_call(deps, request))

    @subscriber("ListWebhookDeliveries")
    async def list_webhook_deliveries(msg: NatsMessage) -> bytes:
        try:
            request = decode(msg.body, ListWebhookDeliveries)
        except msgspec.DecodeError as exc:  # a malformed or out-of-range request
            return encode(RequestError(error=str(exc)))
        return encode(await requests.webhook_deliveries(deps, request))
