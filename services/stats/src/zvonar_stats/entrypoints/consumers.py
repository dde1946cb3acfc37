"""The two durable pull consumers that feed the projections."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from nats.js import JetStreamContext

from zvonar_contracts import subjects
from zvonar_stats.adapters.streams import consume
from zvonar_stats.service_layer.projection import Projector
from zvonar_stats.settings import StatsSettings


def consumer_jobs(
    js: JetStreamContext, projector: Projector, settings: StatsSettings
) -> list[Callable[[], Coroutine[Any, Any, None]]]:
    async def campaign_events() -> None:
        await consume(
            js,
            stream=subjects.CAMPAIGN_EVENTS_STREAM,
            durable=settings.campaign_durable,
            position=projector.campaign_seq,
            apply=projector.apply_campaign_events,
            park=projector.park_campaign_event,
            batch=settings.batch_size,
        )

    async def call_events() -> None:
        await consume(
            js,
            stream=subjects.CALL_EVENTS_STREAM,
            durable=settings.call_durable,
            position=projector.call_seq,
            apply=projector.apply_call_events,
            park=projector.park_call_event,
            batch=settings.batch_size,
        )

    return [campaign_events, call_events]
