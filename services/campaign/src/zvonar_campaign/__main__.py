"""Entry point of the campaign service: `zvonar-campaign` or `python -m zvonar_campaign`.

    zvonar-campaign          commands and the relay in one process (the default)
    zvonar-campaign relay    the relay alone (run the others with CAMPAIGN_RELAY=0)

The relay is a background coroutine of the service process; whichever process runs it
follows the notification log in the shared database, so it can also be deployed and
restarted on its own (a light process without the broker framework).
"""

from __future__ import annotations

import asyncio
from typing import Any

from zvonar_campaign.settings import CampaignSettings
from zvonar_runtime.cli import load_settings, service_parser


def make_setup(settings: CampaignSettings) -> Any:
    from faststream.nats import NatsBroker

    from zvonar_campaign.bootstrap import bootstrap, open_store_for
    from zvonar_campaign.entrypoints.commands import register_commands
    from zvonar_runtime.dialer_clock import ClockReader
    from zvonar_runtime.service import Resources

    async def setup(broker: NatsBroker) -> Resources:
        store = await asyncio.to_thread(open_store_for, settings)
        resources = Resources()
        resources.close.append(lambda: asyncio.to_thread(store.close))
        resources.checks["store"] = store.db.ping
        js = broker.connection.jetstream()
        clock = None
        if settings.commands:
            clock = ClockReader()
            await clock.start(js)
            resources.close.append(clock.stop)
        service = bootstrap(settings, store=store, clock=clock, js=js)
        if service.relay is not None:
            resources.background.append(service.relay.run)
        if service.commands is not None:
            register_commands(broker, service.commands, workers=settings.command_workers)
        return resources

    return setup


def main(argv: list[str] | None = None) -> None:
    parser = service_parser("zvonar-campaign", "zvonar-campaign", __doc__)
    parser.add_argument(
        "role",
        nargs="?",
        choices=["relay"],
        help="run the relay alone (default: commands and the relay in one process)",
    )
    args = parser.parse_args(argv)
    settings = load_settings(CampaignSettings, "zvonar-campaign")
    if args.role == "relay":
        from zvonar_campaign.entrypoints.relay_process import run_relay

        asyncio.run(run_relay(settings))
        return
    from zvonar_runtime.service import serve

    asyncio.run(serve(settings, make_setup(settings)))


if __name__ == "__main__":
    main()
