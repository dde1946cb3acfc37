"""Entry point of the dialer service: `zvonar-dialer` or `python -m zvonar_dialer`."""

from __future__ import annotations

import asyncio

from faststream.nats import NatsBroker

from zvonar_dialer.bootstrap import bootstrap, register
from zvonar_dialer.settings import DialerSettings
from zvonar_runtime.service import Resources, serve


def main() -> None:
    settings = DialerSettings.from_env()

    async def setup(broker: NatsBroker) -> Resources:
        dialer = await bootstrap(settings, broker.connection)
        register(broker, dialer)
        return dialer.resources()

    asyncio.run(serve(settings, setup))


if __name__ == "__main__":
    main()
