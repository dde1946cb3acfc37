"""A NATS request as the integration tests make it: right after a service (re)subscribed,
nats-server can answer "no responders" for a moment (seen with 2.15 even after a flush),
so that answer is asked again for up to `patience` seconds."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from nats.errors import NoRespondersError


async def request(
    nc: Any,
    subject: str,
    data: bytes,
    *,
    timeout: float = 5.0,
    patience: float | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    deadline = time.monotonic() + (timeout if patience is None else patience)
    while True:
        try:
            msg = await nc.request(subject, data, timeout=timeout, headers=headers)
        except NoRespondersError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)
            continue
        return bytes(msg.data)
