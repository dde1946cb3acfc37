"""Loading and saving aggregates in one place: the unit of work of every handler.

The event store's calls are blocking, so handlers run their load-decide-save step in a
worker thread (`Deps.in_thread`) with the command's correlation id bound, which the store
keeps with each event. `Deps` holds the ports (service_layer/ports.py) that bootstrap.py
fills: the event store, the service's tables, the dialer's clock. A save that loses an
optimistic-concurrency race is retried from the load, so two instances acting on one
campaign never lose an event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from zvonar_campaign.domain.campaign import Campaign
from zvonar_campaign.domain.ids import campaign_uuid, stop_list_uuid
from zvonar_campaign.domain.stop_list import StopList
from zvonar_campaign.service_layer.errors import Conflict, NotFound
from zvonar_campaign.service_layer.ports import CampaignTables, DialerClock, EventStore
from zvonar_contracts.commands import CampaignState, CommandOk
from zvonar_runtime.correlation import current_correlation_id
from zvonar_runtime.retry import retry

T = TypeVar("T")
# A contended campaign (another writer moved it on) is loaded and decided again, a few ms
# apart with jitter, for this long before the command is answered `conflict` (a busy
# machine can make a dozen quick attempts lose to the same writers each time).
RETRY_SECONDS = 3.0


@dataclass
class Deps:
    events: EventStore
    tables: CampaignTables
    clock: DialerClock
    on_stored: Callable[[], None] = field(default=lambda: None)
    # Saves that lost an optimistic-concurrency race and were tried again (another writer
    # moved the aggregate on between this one's load and save).
    lost_races: int = 0

    async def in_thread(self, work: Callable[[], T]) -> T:
        correlation_id = current_correlation_id()

        def run() -> T:
            with self.events.correlated(correlation_id):
                return work()

        return await asyncio.to_thread(run)

    # --- blocking helpers, called inside `in_thread` ---------------------------------------
    def load_campaign(self, campaign_id: int, account_id: str) -> Campaign:
        """The campaign, unless it is missing, deleted or another account's (all alike)."""
        try:
            campaign: Campaign = self.events.load(campaign_uuid(campaign_id))
        except AggregateNotFoundError:
            raise NotFound(f"campaign {campaign_id} not found") from None
        if campaign.deleted or campaign.account_id != account_id:
            raise NotFound(f"campaign {campaign_id} not found")
        return campaign

    def load_stop_list(self, account_id: str) -> StopList:
        try:
            stop_list: StopList = self.events.load(stop_list_uuid(account_id))
        except AggregateNotFoundError:
            stop_list = StopList(account_id=account_id)
        return stop_list

    def save(self, *aggregates: Aggregate) -> int:
        """Saves in one transaction; the position of the last event, or the log's end."""
        position = self.events.save(*aggregates)
        return self.events.max_position() if position is None else position

    def retrying(self, work: Callable[[], T]) -> T:
        contended = retry(
            on=IntegrityError,
            attempts=None,
            timeout=RETRY_SECONDS,
            wait_initial=0.002,
            wait_max=0.1,
            wait_jitter=0.01,
        )

        def counted() -> T:
            try:
                return work()
            except IntegrityError:
                # Another writer moved the aggregate on: load again, decide again.
                self.lost_races += 1
                raise

        try:
            return contended(counted)()
        except IntegrityError:
            raise Conflict("the campaign is changing too fast; retry the command") from None

    def change(
        self, campaign_id: int, account_id: str, decide: Callable[[Campaign], Any]
    ) -> CommandOk:
        def attempt() -> CommandOk:
            campaign = self.load_campaign(campaign_id, account_id)
            decide(campaign)
            return ok(campaign, self.save(campaign))

        return self.retrying(attempt)


def ok(campaign: Campaign, position: int, **extra: Any) -> CommandOk:
    return CommandOk(position=position, campaign=state_of(campaign, **extra))


def state_of(campaign: Campaign, **extra: Any) -> CampaignState:
    return CampaignState(
        campaign_id=campaign.campaign_id,
        account_id=campaign.account_id,
        status=campaign.status,
        **extra,
    )
