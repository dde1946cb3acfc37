"""Request-reply subscribers on `dialer.req.<Type>` (queue group `dialer`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

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

R = TypeVar("R")


class RequestError(msgspec.Struct, frozen=True):
    error: str


async def _answer(
    body: bytes, request_type: type[R], handle: Callable[[R], Awaitable[msgspec.Struct]]
) -> bytes:
    """Decode the request and answer it; a malformed or out-of-range one gets RequestError."""
    try:
        request = decode(body, request_type)
    except msgspec.DecodeError as exc:
        return encode(RequestError(error=str(exc)))
    return encode(await handle(request))


def register(broker: NatsBroker, deps: Deps) -> None:
    def subscriber(name: str) -> CoreSubscriber:
        return broker.subscriber(dialer_request_subject(name), queue=DIALER_REQUESTS_QUEUE)

    @subscriber("GetClock")
    async def get_clock(msg: NatsMessage) -> bytes:
        return encode(requests.clock(deps))

    @subscriber("SynthesizePreview")
    async def synthesize_preview(msg: NatsMessage) -> bytes:
        return await _answer(
            msg.body, SynthesizePreview, lambda r: requests.synthesize_preview(deps, r)
        )

    @subscriber("QuoteCost")
    async def quote_cost(msg: NatsMessage) -> bytes:
        return await _answer(msg.body, QuoteCost, lambda r: requests.quote(deps, r))

    @subscriber("InboundCall")
    async def inbound_call(msg: NatsMessage) -> bytes:
        return await _answer(msg.body, InboundCall, lambda r: requests.inbound_call(deps, r))

    @subscriber("ListWebhookDeliveries")
    async def list_webhook_deliveries(msg: NatsMessage) -> bytes:
        return await _answer(
            msg.body, ListWebhookDeliveries, lambda r: requests.webhook_deliveries(deps, r)
        )
