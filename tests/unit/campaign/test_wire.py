"""Stored domain events map 1:1 onto the contract events, which survive the codec."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from zvonar_campaign.domain.campaign import Campaign
from zvonar_campaign.domain.stop_list import StopList
from zvonar_campaign.domain.wire import WIRE_TYPES, to_wire
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


def test_every_domain_event_has_a_wire_type_and_every_wire_type_a_domain_event() -> None:
    mapped = {t.__name__ for t in WIRE_TYPES.values()}
    expected = {t.__name__ for t in (*wire.CAMPAIGN_EVENT_TYPES, *wire.STOP_LIST_EVENT_TYPES)}
    assert mapped == expected


def test_each_event_becomes_its_contract_event_and_round_trips(
    make_campaign: Callable[..., Campaign],
) -> None:
    events = _every_campaign_event(make_campaign)
    seen = set()
    for event in events:
        contract = to_wire(event)
        assert contract is not None
        assert isinstance(contract, WIRE_TYPES[type(event)])
        assert decode_campaign_stream_event(encode(contract)) == contract
        assert contract.at == event.timestamp  # type: ignore[attr-defined]
        seen.add(type(contract))
    assert seen == set(wire.CAMPAIGN_EVENT_TYPES)


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
