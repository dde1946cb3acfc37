"""The durable pull consumers that feed the projections: the campaign stream's, and one
per call partition, each run while this instance holds the unit's lease."""

from __future__ import annotations

from nats.aio.client import Client

from zvonar_contracts import subjects
from zvonar_stats.adapters.streams import consume
from zvonar_stats.domain.partitions import CAMPAIGN_UNIT, CallPartition, call_partitions
from zvonar_stats.service_layer.ports import RunUnit
from zvonar_stats.service_layer.projection import Projector
from zvonar_stats.settings import StatsSettings


def unit_runner(nc: Client, projector: Projector, settings: StatsSettings) -> RunUnit:
    """Runs the consumer of a unit (`campaign` or `call.<i>`) until cancelled, on the
    runtime's consumer kit (adapters.streams.consume)."""
    partitions = {p.unit: p for p in call_partitions(settings.partitions)}

    async def run(unit: str) -> None:
        if unit == CAMPAIGN_UNIT:
            await consume(
                nc,
                stream=subjects.CAMPAIGN_EVENTS_STREAM,
                durable=settings.campaign_durable,
                position=projector.campaign_seq,
                apply=projector.apply_campaign_events,
                park=projector.park_campaign_event,
                transient=projector.is_transient,
                batch=settings.batch_size,
            )
            return
        partition: CallPartition = partitions[unit]
        feed = projector.partition(partition)
        await consume(
            nc,
            stream=subjects.CALL_EVENTS_STREAM,
            durable=settings.partition_durable(partition.index),
            position=feed.position,
            apply=feed.apply,
            park=feed.park,
            transient=projector.is_transient,
            batch=settings.batch_size,
            ack="all",
        )

    return run


def durables(settings: StatsSettings) -> list[tuple[str, str]]:
    """(stream, durable) of every consumer an instance may run, for the lag gauges."""
    return [
        (subjects.CAMPAIGN_EVENTS_STREAM, settings.campaign_durable),
        *(
            (subjects.CALL_EVENTS_STREAM, settings.partition_durable(p.index))
            for p in call_partitions(settings.partitions)
        ),
    ]
