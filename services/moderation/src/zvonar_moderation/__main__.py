"""Entry point of the moderation service: `zvonar-moderation` or `python -m zvonar_moderation`.

Runs moderation: reviews submitted campaigns and approves or rejects them."""

from __future__ import annotations

import asyncio

from zvonar_runtime.cli import load_settings, service_parser


def main(argv: list[str] | None = None) -> None:
    service_parser("zvonar-moderation", "zvonar-moderation", __doc__).parse_args(argv)
    # Imported after the arguments: `--help` and `--version` start nothing and answer fast.
    from faststream.nats import NatsBroker

    from zvonar_moderation.bootstrap import bootstrap
    from zvonar_moderation.settings import ModerationSettings
    from zvonar_runtime.service import Resources, serve

    settings = load_settings(ModerationSettings, "zvonar-moderation", service="moderation")

    async def setup(broker: NatsBroker) -> Resources:
        # faststream's broker brings the health answers; the consumer is the runtime's kit.
        moderation = await bootstrap(settings, broker.connection)
        return moderation.resources()

    asyncio.run(serve(settings, setup))


if __name__ == "__main__":
    main()
