"""`zvonar_runtime.payload` counts a message as nats-server does: on a server with a small
max payload, a message exactly at the limit by our count (payload and headers) is delivered
and the connection stays; one byte more is what `check_fits` refuses, and what the server
would answer by closing the connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client

from zvonar_devtools.natsserver import NatsServer
from zvonar_runtime.payload import MessageTooLarge, check_fits, message_size

pytestmark = pytest.mark.integration

MAX_PAYLOAD = 4096
HEADERS = {"Nats-Msg-Id": "cl-12345", "Zvonar-Correlation-Id": "c" * 32}


@dataclass
class Small:
    nc: Client
    log: Path
    disconnected: asyncio.Event


@pytest.fixture
async def small(tmp_path: Path) -> AsyncIterator[Small]:
    """A nats-server of its own with a 4 KiB max payload, and a client that stays down."""
    config = tmp_path / "small.conf"
    config.write_text(f"max_payload: {MAX_PAYLOAD}\n")
    disconnected = asyncio.Event()

    async def on_error(exc: Exception) -> None:
        pass  # the connection reset that follows the server's refusal

    async def on_disconnect() -> None:
        disconnected.set()

    log = tmp_path / "nats.log"
    with NatsServer(tmp_path / "nats", log_file=log, extra_args=["-c", str(config)]) as server:
        nc = await nats.connect(
            server.url, error_cb=on_error, disconnected_cb=on_disconnect, allow_reconnect=False
        )
        yield Small(nc, log, disconnected)
        await nc.close()


@pytest.mark.parametrize("headers", [None, {}, HEADERS], ids=["none", "empty", "some"])
async def test_a_message_at_the_limit_is_delivered_one_byte_more_is_refused(
    small: Small, headers: dict[str, str] | None
) -> None:
    nc = small.nc
    assert nc.max_payload == MAX_PAYLOAD
    payload = b"x" * (MAX_PAYLOAD - message_size(b"", headers))
    assert message_size(payload, headers) == MAX_PAYLOAD
    check_fits(nc, "t.payload", payload, headers)
    with pytest.raises(MessageTooLarge) as refused:
        check_fits(nc, "t.payload", payload + b"x", headers)
    assert refused.value.size == MAX_PAYLOAD + 1 and refused.value.limit == MAX_PAYLOAD

    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def on_message(msg: object) -> None:
        await received.put(msg.data)  # type: ignore[attr-defined]

    await nc.subscribe("t.payload", cb=on_message)
    await nc.publish("t.payload", payload, headers=headers)
    await nc.flush(timeout=5)
    assert await asyncio.wait_for(received.get(), timeout=5) == payload
    assert nc.is_connected
    if headers:
        # The byte `check_fits` refuses is one the server does not take: it closes the link.
        await nc.publish("t.payload", payload + b"x", headers=headers)
        await asyncio.wait_for(small.disconnected.wait(), timeout=5)
        text = small.log.read_text(errors="replace").lower()
        assert "maximum payload" in text, text[-2000:]
