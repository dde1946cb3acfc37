"""What the handlers work with, wired once in `bootstrap` (real adapters or test fakes):
the ports (service_layer.ports), the dialer's clock and tariff, and its settings of pace."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from zvonar_dialer.domain.campaign import Campaign
from zvonar_dialer.domain.carrier_health import CarrierHealth
from zvonar_dialer.domain.clock import DialerClock
from zvonar_dialer.domain.tariff import Tariff
from zvonar_dialer.service_layer.message_cache import MessageCache
from zvonar_dialer.service_layer.ownership import Ownership, SoleDialer
from zvonar_dialer.service_layer.ports import (
    AudioCodec,
    BlobStore,
    CampaignLog,
    CommandSender,
    SecretReader,
    SimulatedRecorder,
    SpeechSynthesizer,
    Telephony,
    Transactions,
    Tx,
)


@dataclass
class Deps:
    db: Transactions
    clock: DialerClock
    commands: CommandSender
    blobs: BlobStore
    telephony: Telephony
    synthesizer: SpeechSynthesizer
    audio: AudioCodec
    # The recording of a simulated call (a real carrier hands over its own).
    simulated_recording: SimulatedRecorder
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


def load_campaign(campaign_id: int) -> Callable[[Tx], Campaign | None]:
    """The transaction that reads one campaign (None if unknown)."""
    return lambda tx: tx.load_campaign(campaign_id)


async def update_campaign(
    db: Transactions, campaign_id: int, change: Callable[[Campaign], None]
) -> Campaign | None:
    """Load, change and save one campaign in one transaction (None if unknown)."""

    def work(tx: Tx) -> Campaign | None:
        campaign = tx.load_campaign(campaign_id)
        if campaign is None:
            return None
        change(campaign)
        tx.save_campaign(campaign)
        return campaign

    return await db.run(work)
