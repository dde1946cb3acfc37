"""The one place that wires the moderation service: analyser, rules file, decisions store,
campaign command port and the consumer on a broker."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass

from faststream.nats import NatsBroker

from zvonar_contracts.subjects import CAMPAIGN_EVENTS_STREAM
from zvonar_moderation.adapters.campaign_commands import NatsCampaignCommands
from zvonar_moderation.adapters.decisions import SqlDecisionStore
from zvonar_moderation.adapters.morphology import pymorphy_lemmatizer
from zvonar_moderation.adapters.rules_file import RulesFile, default_rules_path
from zvonar_moderation.domain.matching import Lemmatize
from zvonar_moderation.entrypoints.consumer import register_consumer
from zvonar_moderation.service_layer.handlers import Dependencies
from zvonar_moderation.settings import ModerationSettings
from zvonar_runtime.db import Database
from zvonar_runtime.service import Resources


@dataclass
class Moderation:
    rules: RulesFile
    db: Database
    deps: Dependencies
    durable: str


async def bootstrap(
    settings: ModerationSettings,
    broker: NatsBroker,
    *,
    lemmatize: Lemmatize | None = None,
) -> Moderation:
    """Wire the service on a connected broker and register its consumer (not started)."""
    rules = RulesFile(
        settings.rules_path or default_rules_path(), lemmatize or pymorphy_lemmatizer()
    )
    db = Database.from_settings(
        settings.database_url, settings.sqlite_path("moderation"), schema="moderation"
    )
    decisions = SqlDecisionStore(db)
    await decisions.create_schema()
    campaign = NatsCampaignCommands(broker.connection, timeout=settings.command_timeout)
    deps = Dependencies(rules=rules, decisions=decisions, campaign=campaign)
    register_consumer(broker, deps, durable=settings.consumer, retry_delay=settings.retry_delay)
    return Moderation(rules=rules, db=db, deps=deps, durable=settings.consumer)


def resources_of(moderation: Moderation, *, reload_on_sighup: bool = True) -> Resources:
    """Readiness checks and closers for `serve`; SIGHUP reloads the rules file."""
    loop = asyncio.get_running_loop()
    if reload_on_sighup:
        loop.add_signal_handler(signal.SIGHUP, moderation.rules.reload)

    async def close() -> None:
        if reload_on_sighup:
            loop.remove_signal_handler(signal.SIGHUP)
        await moderation.db.aclose()

    return Resources(
        checks={"database": moderation.db.ping},
        close=[close],
        durables=[(CAMPAIGN_EVENTS_STREAM, moderation.durable)],
    )
