"""Entry point of the moderation service: `zvonar-moderation` or `python -m zvonar_moderation`."""

from __future__ import annotations

import asyncio

from faststream.nats import NatsBroker

from zvonar_moderation.bootstrap import bootstrap, resources_of
from zvonar_moderation.settings import ModerationSettings
from zvonar_runtime.service import Resources, serve


def main() -> None:
    settings = ModerationSettings.from_env(service="moderation")

    async def setup(broker: NatsBroker) -> Resources:
        return resources_of(await bootstrap(settings, broker))

    asyncio.run(serve(settings, setup))


if __name__ == "__main__":
    main()
