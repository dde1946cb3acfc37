"""Each domain event carries its contract event (declared once, in the contracts), which
survives the codec; lifecycle events carry the status they lead to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from zvonar_campaign.domain.campaign import Campaign
from zvonar_campaign.domain.events import STATUS_AFTER, payload_type
from zvonar_campaign.domain.stop_list import StopList
from zvonar_campaign.domain.wire import to_wire
from zvonar_contracts import campaign_events as wire
from zvonar_contracts.codec import decode_campaign_stream_event, encode
from zvonar_contracts.options import Status

NOW = dt.datetime(2026, 6, 17, 13, 0, tzinfo=dt.UTC)


def _every_campaign_event(make: Callable[..., Campaign]) -> list[object]:
    campaign = make()
    campaign.moderate("accepted", "rules", "", True)
    campaign.start(NOW)
    campaign.report_idle("window_closed", NOW)
    campaign.pause("system", "no audio")
    campaign.resume(Status.IN_PROGRESS)
    campaign.mark_out_of_window(NOW)
    campaign.resume(Status.IN_PROGRESS)
    campaign.set_comment("ok")
    campaign.release_number()
    campaign.start_smart_part(1, 1_000_002, 4)
    campaign.finish_smart_part(1)
    campaign.cancel_all_smart_parts()
    campaign.finish()
    campaign.record_copy(1_000_003)
    campaign.delete()
    events: list[object] = list(campaign.collect_events())
    other = make(number=1_000_004)
    other.fail("tts failed")
    events += other.collect_events()
    stopped = make(number=1_000_005)
    stopped.stop("customer", "")
    events += stopped.collect_events()
    return events


def _domain_event_classes() -> list[type]:
    return [
        k
        for owner in (Campaign, StopList)
        for k in vars(owner).values()
        if isinstance(k, type) and k is not Campaign.Event and payload_type(k) is not None
    ]


def test_every_domain_event_carries_one_contract_event_and_every_contract_event_is_carried() -> (
    None
):
    carried = [payload_type(k) for k in _domain_event_classes()]
    expected = {*wire.CAMPAIGN_EVENT_TYPES, *wire.STOP_LIST_EVENT_TYPES}
    assert len(carried) == len(set(carried)) == len(expected) and set(carried) == expected


def test_each_event_becomes_its_contract_event_and_round_trips(
    make_campaign: Callable[..., Campaign],
) -> None:
    events = _every_campaign_event(make_campaign)
    seen = set()
    for event in events:
        contract = to_wire(event)
        assert contract is not None
        assert isinstance(contract, payload_type(type(event)))  # type: ignore[arg-type]
        assert decode_campaign_stream_event(encode(contract)) == contract
        assert contract.at == event.timestamp  # type: ignore[attr-defined]
        seen.add(type(contract))
    assert seen == set(wire.CAMPAIGN_EVENT_TYPES)


def test_each_lifecycle_event_carries_the_status_the_campaign_is_in_after_it(
    make_campaign: Callable[..., Campaign],
) -> None:
    """Replayed one by one, the status on each event is the campaign's status after it;
    the events that leave the status as it was carry none."""
    replayed: dict[object, Campaign] = {}
    carrying = set()
    for event in _every_campaign_event(make_campaign):
        campaign = event.mutate(replayed.get(event.originator_id))  # type: ignore[attr-defined]
        replayed[event.originator_id] = campaign  # type: ignore[attr-defined]
        contract = to_wire(event)
        status = getattr(contract, "status", None)
        if status is not None:
            assert status is campaign.status, type(event)
            carrying.add(type(contract))
    assert carrying == {wire.CampaignModerated, wire.CampaignResumed, *STATUS_AFTER}


def test_fields_are_carried_over(make_campaign: Callable[..., Campaign]) -> None:
    campaign = make_campaign()
    campaign.moderate("rejected", "moderator", "азартные игры", False)
    created, moderated = (to_wire(e) for e in campaign.collect_events())
    assert isinstance(created, wire.CampaignCreated) and moderated is not None
    assert created.options == campaign.options and created.phones == campaign.phones
    assert (created.account_tz, created.copied_from) == ("Europe/Moscow", None)
    assert moderated == wire.CampaignModerated(
        campaign_id=1_000_001,
        account_id="acc_1",
        at=moderated.at,
        decision="rejected",
        decided_by="moderator",
        status=Status.REJECTED,
        reason="азартные игры",
    )


def test_stop_list_events_map_and_its_opening_event_stays_inside() -> None:
    stop_list = StopList(account_id="acc_1")
    stop_list.add(["+79161234567"])
    stop_list.remove(["+79161234567"])
    opened, added, removed = stop_list.collect_events()
    assert to_wire(opened) is None
    assert to_wire(added) == wire.StopListPhonesAdded(
        account_id="acc_1", at=added.timestamp, phones=["+79161234567"]
    )
    assert isinstance(to_wire(removed), wire.StopListPhonesRemoved)
