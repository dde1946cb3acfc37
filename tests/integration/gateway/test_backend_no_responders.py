"""The gateway asks again while no service instance listens (one restarting), with
back-off, and answers 503 once its patience is over — on a real nats-server."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from zvonar_contracts.codec import encode, type_name
from zvonar_contracts.dialer import ClockReply, GetClock
from zvonar_contracts.subjects import dialer_request_subject
from zvonar_gateway.adapters.backend import NatsBackend
from zvonar_gateway.service_layer.errors import ApiError
from zvonar_runtime.jetstream import connect

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 6, 18, 7, 0, tzinfo=dt.UTC)
SUBJECT = dialer_request_subject(type_name(GetClock()))


@pytest.fixture
async def gateway_nc(nats_url: str) -> AsyncIterator[Client]:
    client = await connect(nats_url, "probe-gateway")
    yield client
    await client.close()


async def _published(client: Client, count: int) -> None:
    """Until `client` has sent `count` messages (its requests), for 30 s at most."""
    async with asyncio.timeout(30):
        while client.stats["out_msgs"] < count:  # noqa: ASYNC110 (a counter, no event)
            await asyncio.sleep(0.01)


async def test_a_request_nobody_hears_yet_is_answered_once_a_responder_subscribes(
    gateway_nc: Client, nats_url: str
) -> None:
    backend = NatsBackend(gateway_nc)
    sent = gateway_nc.stats["out_msgs"]
    waiting = asyncio.create_task(backend.dialer(GetClock(), ClockReply, timeout=30.0))
    await _published(gateway_nc, sent + 2)  # asked twice, nobody listening either time
    assert not waiting.done()

    responder = await connect(nats_url, "probe-dialer")
    try:

        async def answer(msg: Msg) -> None:
            await msg.respond(encode(ClockReply(now=NOW, scale=1.0)))

        await responder.subscribe(SUBJECT, queue="dialer", cb=answer)
        assert await asyncio.wait_for(waiting, 30) == ClockReply(now=NOW, scale=1.0)
    finally:
        await responder.close()


async def test_nobody_listening_for_the_whole_patience_is_503(gateway_nc: Client) -> None:
    backend = NatsBackend(gateway_nc)
    sent = gateway_nc.stats["out_msgs"]
    with pytest.raises(ApiError) as caught:
        await backend.dialer(GetClock(), ClockReply, timeout=1.0)
    assert (caught.value.status_code, caught.value.code) == (503, "service_unavailable")
    assert gateway_nc.stats["out_msgs"] - sent > 1  # it did ask again before giving up
