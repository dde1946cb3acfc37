"""Entry point of the gateway service: `zvonar-gateway` or `python -m zvonar_gateway`."""

from __future__ import annotations

import asyncio

from faststream.nats import NatsBroker

from zvonar_gateway.bootstrap import build
from zvonar_gateway.settings import GatewaySettings
from zvonar_runtime.service import Resources, serve


def make_setup(settings: GatewaySettings):  # type: ignore[no-untyped-def]
    async def setup(broker: NatsBroker) -> Resources:
        gateway = await build(settings, broker.connection)
        return Resources(
            checks={"database": gateway.db.ping},
            background=[gateway.run],
            close=[gateway.db.aclose],
        )

    return setup


def main() -> None:
    settings = GatewaySettings.from_env()
    asyncio.run(serve(settings, make_setup(settings)))


if __name__ == "__main__":
    main()
