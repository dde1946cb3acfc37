"""Graceful shutdown: SIGINT and SIGTERM become an asyncio.Event the service awaits."""

from __future__ import annotations

import asyncio
import signal


def shutdown_event() -> asyncio.Event:
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, event.set)
    return event
