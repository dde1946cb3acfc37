"""What the handlers work with, wired once in `bootstrap` (real adapters or test fakes)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from zvonar_contracts.commands import CampaignCommand, CommandReply
from zvonar_dialer.adapters import store
from zvonar_dialer.adapters.telephony import Telephony
from zvonar_dialer.domain.campaign import Campaign
from zvonar_dialer.domain.carrier_health import CarrierHealth
from zvonar_dialer.domain.clock import DialerClock
from zvonar_dialer.domain.tariff import Tariff
from zvonar_dialer.service_layer.message_cache import MessageCache
from zvonar_dialer.service_layer.ownership import Ownership, SoleDialer
from zvonar_runtime.db import Cursor, Database


class CommandSender(Protocol):
    async def send(self, command: CampaignCommand) -> CommandReply | None:
        """Ask the campaign service to record something; None when nobody answers."""
        ...


class BlobStore(Protocol):
    async def get(self, bucket: str, name: str) -> bytes:
        """The object's content; a LookupError when there is no such object."""
        ...

    async def put(self, bucket: str, name: str, data: bytes) -> None: ...


class SpeechSynthesizer(Protocol):
    def synthesize(self, text: str, voice: str = "ru") -> bytes: ...


class CampaignLog(Protocol):
    async def behind(self) -> int:
        """How many campaign events in the stream when first asked are not yet applied to
        the store (0: caught up)."""
        ...


class SecretReader(Protocol):
    async def get(self, ref: str) -> str:
        """The webhook secret sealed under `ref`; a LookupError when it cannot be read."""
        ...


@dataclass
class Deps:
    db: Database
    clock: DialerClock
    commands: CommandSender
    blobs: BlobStore
    telephony: Telephony
    synthesizer: SpeechSynthesizer
    tariff: Tariff
    secrets: SecretReader
    caller_pool: list[str]
    max_burst: int = 500
    call_concurrency: int = 500
    tick_seconds: float = 0.02
    # Failures of the telephony port in a row; down: running campaigns are paused by the system.
    carrier: CarrierHealth = field(default_factory=CarrierHealth)
    # Set when the outbox has rows to publish / the scheduler has news to look at.
    outbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    scheduler_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    # Set when webhook posts were queued (the webhook sender looks at once).
    webhook_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    # The campaigns' decoded messages (for recordings), within a byte budget.
    messages: MessageCache = field(default_factory=MessageCache)
    # The campaign stream, which the scheduler catches up with before its first pass
    # (None: nothing to wait for — the store is fed directly).
    campaign_log: CampaignLog | None = None
    # Calls placed in the background (a real carrier: they take real time).
    calls: set[asyncio.Task[None]] = field(default_factory=set)
    calls_in_progress: set[str] = field(default_factory=set)  # their call ids
    # The campaigns this dialer may dial, among several sharing the database.
    ownership: Ownership = field(default_factory=SoleDialer)


async def update_campaign(
    db: Database, campaign_id: int, change: Callable[[Campaign], None]
) -> Campaign | None:
    """Load, change and save one campaign in one transaction (None if unknown)."""

    def work(cur: Cursor) -> Campaign | None:
        campaign = store.load_campaign(cur, campaign_id)
        if campaign is None:
            return None
        change(campaign)
        store.save_campaign(cur, campaign)
        return campaign

    return await db.run(work)
