"""Handlers of the CAMPAIGN_EVENTS stream: keep the dialer's own copy of every campaign and
of each account's stop-list.

Each event is applied in one transaction together with the stream sequence it came at, so a
redelivered event is skipped (the consumer is idempotent).
"""

from __future__ import annotations

from collections.abc import Callable

from zvonar_contracts import campaign_events as ev
from zvonar_dialer.domain.campaign import apply_event, new_campaign
from zvonar_dialer.service_layer.ports import Tx


def stop_list_added(tx: Tx, event: ev.StopListPhonesAdded) -> None:
    tx.stop_list_add(event.account_id, event.phones)


def stop_list_removed(tx: Tx, event: ev.StopListPhonesRemoved) -> None:
    tx.stop_list_remove(event.account_id, event.phones)


def campaign_created(tx: Tx, event: ev.CampaignCreated) -> None:
    if tx.load_campaign(event.campaign_id) is None:
        tx.save_campaign(new_campaign(event))


def campaign_changed(tx: Tx, event: ev.CampaignEvent, position: int | None) -> None:
    campaign = tx.load_campaign(event.campaign_id)
    if campaign is None:  # created before this dialer's store existed: not ours to dial
        return
    apply_event(campaign, event, position)
    if isinstance(event, ev.SmartPartsCancelled):
        tx.cancel_queued(campaign.campaign_id, [p for p in event.parts if p > 0])
    if isinstance(event, ev.CampaignNumberReleased):
        tx.drop_routes(campaign.campaign_id)
    tx.save_campaign(campaign)


def handle(
    event: ev.CampaignStreamEvent, sequence: int, position: int | None
) -> Callable[[Tx], bool]:
    """The transaction for one stream message; it answers False for a replay."""

    def work(tx: Tx) -> bool:
        if sequence <= tx.applied_sequence():
            return False
        if isinstance(event, ev.StopListPhonesAdded):
            stop_list_added(tx, event)
        elif isinstance(event, ev.StopListPhonesRemoved):
            stop_list_removed(tx, event)
        elif isinstance(event, ev.CampaignCreated):
            campaign_created(tx, event)
        else:
            campaign_changed(tx, event, position)
        tx.set_applied_sequence(sequence)
        return True

    return work
