"""Entry point of the gateway service: `zvonar-gateway` or `python -m zvonar_gateway`."""

from __future__ import annotations

import asyncio

from faststream.nats import NatsBroker

from zvonar_runtime.service import Resources, serve
from zvonar_runtime.settings import ServiceSettings


async def setup(broker: NatsBroker) -> Resources:
    return Resources()


def main() -> None:
    settings = ServiceSettings.from_env(service="gateway")
    asyncio.run(serve(settings, setup))


if __name__ == "__main__":
    main()
