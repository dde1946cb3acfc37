"""Handlers of the CAMPAIGN_EVENTS stream: keep the dialer's own copy of every campaign and
of each account's stop-list.

Each event is applied in one transaction together with the stream sequence it came at, so a
redelivered event is skipped (the consumer is idempotent).
"""

from __future__ import annotations

from collections.abc import Callable

from zvonar_contracts import campaign_events as ev
from zvonar_dialer.adapters import store
from zvonar_dialer.domain.campaign import apply_event, new_campaign
from zvonar_runtime.db import Cursor


def stop_list_added(cur: Cursor, event: ev.StopListPhonesAdded) -> None:
    store.stop_list_add(cur, event.account_id, event.phones)


def stop_list_removed(cur: Cursor, event: ev.StopListPhonesRemoved) -> None:
    store.stop_list_remove(cur, event.account_id, event.phones)


def campaign_created(cur: Cursor, event: ev.CampaignCreated) -> None:
    if store.load_campaign(cur, event.campaign_id) is None:
        store.save_campaign(cur, new_campaign(event))


def campaign_changed(cur: Cursor, event: ev.CampaignEvent, position: int | None) -> None:
    campaign = store.load_campaign(cur, event.campaign_id)
    if campaign is None:  # created before this dialer's store existed: not ours to dial
        return
    apply_event(campaign, event, position)
    if isinstance(event, ev.SmartPartsCancelled):
        store.cancel_queued(cur, campaign.campaign_id, [p for p in event.parts if p > 0])
    if isinstance(event, ev.CampaignNumberReleased):
        store.drop_routes(cur, campaign.campaign_id)
    store.save_campaign(cur, campaign)


def handle(
    event: ev.CampaignStreamEvent, sequence: int, position: int | None
) -> Callable[[Cursor], bool]:
    """The transaction for one stream message; it answers False for a replay."""

    def work(cur: Cursor) -> bool:
        if sequence <= store.applied_sequence(cur):
            return False
        if isinstance(event, ev.StopListPhonesAdded):
            stop_list_added(cur, event)
        elif isinstance(event, ev.StopListPhonesRemoved):
            stop_list_removed(cur, event)
        elif isinstance(event, ev.CampaignCreated):
            campaign_created(cur, event)
        else:
            campaign_changed(cur, event, position)
        store.set_applied_sequence(cur, sequence)
        return True

    return work
