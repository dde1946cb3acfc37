"""Entry point of the gateway service: `zvonar-gateway` or `python -m zvonar_gateway`.

Runs the gateway: the HTTP API, the web page and webhook deliveries."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from zvonar_runtime.cli import load_settings, service_parser

if TYPE_CHECKING:
    from zvonar_gateway.settings import GatewaySettings


def make_setup(settings: GatewaySettings) -> Any:
    from faststream.nats import NatsBroker

    from zvonar_gateway.bootstrap import build
    from zvonar_runtime.service import Resources

    async def setup(broker: NatsBroker) -> Resources:
        gateway = await build(settings, broker.connection)
        return Resources(
            checks={"database": gateway.db.ping},
            background=[gateway.run],
            close=[gateway.accounts.aclose, gateway.db.aclose],
        )

    return setup


def main(argv: list[str] | None = None) -> None:
    service_parser("zvonar-gateway", "zvonar-gateway", __doc__).parse_args(argv)
    # Imported after the arguments: `--help` and `--version` start nothing and answer fast.
    from zvonar_gateway.settings import GatewaySettings
    from zvonar_runtime.service import serve

    settings = load_settings(GatewaySettings, "zvonar-gateway")
    asyncio.run(serve(settings, make_setup(settings)))


if __name__ == "__main__":
    main()
