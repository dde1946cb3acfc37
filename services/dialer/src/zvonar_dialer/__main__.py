"""Entry point of the dialer service: `zvonar-dialer` or `python -m zvonar_dialer`.

Runs the dialer: takes dial orders, places calls through the carrier, reports outcomes."""

from __future__ import annotations

import asyncio

from zvonar_runtime.cli import load_settings, service_parser


def main(argv: list[str] | None = None) -> None:
    service_parser("zvonar-dialer", "zvonar-dialer", __doc__).parse_args(argv)
    # Imported after the arguments: `--help` and `--version` start nothing and answer fast.
    from faststream.nats import NatsBroker

    from zvonar_dialer.bootstrap import bootstrap, register
    from zvonar_dialer.settings import DialerSettings
    from zvonar_runtime.service import Resources, serve

    settings = load_settings(DialerSettings, "zvonar-dialer")

    async def setup(broker: NatsBroker) -> Resources:
        dialer = await bootstrap(settings, broker.connection)
        register(broker, dialer)
        return dialer.resources()

    asyncio.run(serve(settings, setup))


if __name__ == "__main__":
    main()
