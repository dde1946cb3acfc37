"""The one place that wires the moderation service: `bootstrap(settings, nc, **ports)` makes
the real adapters for any port not given (tests give fakes) and the CampaignCreated consumer
on the runtime's consumer kit."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass

from nats.aio.client import Client

from zvonar_contracts.campaign_events import CampaignCreated
from zvonar_moderation.adapters.campaign_commands import NatsCampaignCommands
from zvonar_moderation.adapters.decisions import SqlDecisionStore
from zvonar_moderation.adapters.morphology import pymorphy_lemmatizer
from zvonar_moderation.adapters.parked import SqlParkedMessages
from zvonar_moderation.adapters.rules_file import RulesFile, default_rules_path
from zvonar_moderation.domain.matching import Lemmatize
from zvonar_moderation.entrypoints.consumer import created_consumer
from zvonar_moderation.service_layer.handlers import Dependencies
from zvonar_moderation.service_layer.ports import CampaignService, DecisionStore, Rules
from zvonar_moderation.settings import ModerationSettings
from zvonar_runtime.consumer import Consumer
from zvonar_runtime.db import Database
from zvonar_runtime.service import Resources


@dataclass
class Moderation:
    rules: Rules
    db: Database
    deps: Dependencies
    parked: SqlParkedMessages
    consumer: Consumer[CampaignCreated]

    def resources(self, *, reload_on_sighup: bool = True) -> Resources:
        """Readiness checks, the consumer as a background job and closers for `serve`;
        SIGHUP reloads the rules file."""
        loop = asyncio.get_running_loop()
        if reload_on_sighup:
            loop.add_signal_handler(signal.SIGHUP, self.rules.reload)

        async def close() -> None:
            if reload_on_sighup:
                loop.remove_signal_handler(signal.SIGHUP)
            await self.db.aclose()

        return Resources(
            checks={"database": self.db.ping},
            background=[self.consumer.run],
            close=[close],
            durables=[self.consumer.durable],
        )


async def bootstrap(
    settings: ModerationSettings,
    nc: Client,
    *,
    rules: Rules | None = None,
    decisions: DecisionStore | None = None,
    campaign: CampaignService | None = None,
    lemmatize: Lemmatize | None = None,
) -> Moderation:
    """Wire the service on a connected client (the consumer is not started: run
    `moderation.consumer.run()`, or `serve` does through `resources()`)."""
    if rules is None:
        rules = RulesFile(
            settings.rules_path or default_rules_path(), lemmatize or pymorphy_lemmatizer()
        )
    db = Database.from_settings(
        settings.database_url, settings.sqlite_path("moderation"), schema="moderation"
    )
    if decisions is None:
        store = SqlDecisionStore(db)
        await store.create_schema()
        decisions = store
    parked = SqlParkedMessages(db)
    await parked.create_schema()
    if campaign is None:
        campaign = NatsCampaignCommands(nc, timeout=settings.command_timeout)
    deps = Dependencies(rules=rules, decisions=decisions, campaign=campaign)
    consumer = created_consumer(
        nc,
        deps,
        durable=settings.consumer,
        retry_delay=settings.retry_delay,
        park=parked.park,
        database_busy=db.is_transient,
    )
    return Moderation(rules=rules, db=db, deps=deps, parked=parked, consumer=consumer)
