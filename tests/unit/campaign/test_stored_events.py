"""Events stored before the domain events carried their contract structs still load, and
what is stored now has the same form.

`stored_before_payloads.json` holds the stored form (topic, state) of every kind of event
and one snapshot, written by the campaign service as it was at 3421733 (domain event classes
with their own fields, mapped onto the wire by a reflective copy), and what its relay
published for each event. Loaded now, every event publishes the same message, with the
campaign's `status` after it on the lifecycle events that gained the field."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from zvonar_campaign.bootstrap import Store
from zvonar_campaign.domain.campaign import Campaign
from zvonar_campaign.domain.ids import campaign_uuid, stop_list_uuid
from zvonar_campaign.domain.stop_list import StopList
from zvonar_campaign.domain.wire import to_wire
from zvonar_contracts.codec import encode
from zvonar_contracts.options import Status

BEFORE = json.loads((Path(__file__).parent / "stored_before_payloads.json").read_text())
GAINED_STATUS = {
    "CampaignScheduled": "scheduled",
    "CampaignStarted": "in_progress",
    "CampaignPaused": "paused",
    "CampaignOutOfWindow": "paused_window",
    "CampaignFinished": "finished",
    "CampaignStopped": "stopped",
    "CampaignFailed": "error",
}


def _stored(row: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(row["originator_id"]),
        originator_version=row["originator_version"],
        topic=row["topic"],
        state=row["state"].encode(),
    )


@pytest.fixture
def old_store(store: Store) -> Store:
    store.app.recorder.insert_events([_stored(row) for row in BEFORE["events"]])
    snapshots = store.app.snapshots
    assert snapshots is not None
    snapshots.recorder.insert_events([_stored(row) for row in BEFORE["snapshots"]])
    return store


def test_every_old_event_loads_and_publishes_what_it_did_with_its_status(
    old_store: Store,
) -> None:
    app = old_store.app
    notifications = app.recorder.select_notifications(start=None, limit=100)
    assert len(notifications) == len(BEFORE["events"]) == 27
    kinds = set()
    for notification, row in zip(notifications, BEFORE["events"], strict=True):
        assert app.correlation_mapper.correlation_of(notification) == "corr-1"
        wire = to_wire(app.mapper.to_domain_event(notification))
        published = json.loads(encode(wire)) if wire is not None else None
        expected = row["published"]
        if expected is not None and expected["type"] in GAINED_STATUS:
            assert "status" not in expected
            expected = {**expected, "status": GAINED_STATUS[expected["type"]]}
        assert published == expected, row["topic"]
        kinds.add(expected["type"] if expected else row["topic"])
    assert len(kinds) == 21  # 18 campaign events, 2 stop-list events, the stop-list's opening


def test_old_aggregates_load_with_their_state(old_store: Store) -> None:
    get = old_store.app.repository.get
    first: Campaign = get(campaign_uuid(1_000_001))
    assert (first.version, first.status, first.deleted) == (17, Status.FINISHED, True)
    assert (first.user_comment, first.caller_number, first.number_released) == ("ok", None, True)
    assert [p.state for p in first.smart_parts] == ["finished", "cancelled", "cancelled"]
    assert first.options.window is not None and first.options.window.from_ == "09:00"
    failed: Campaign = get(campaign_uuid(1_000_004))  # from its snapshot
    assert (failed.status, failed.system_comment, failed.copied_from) == (
        Status.ERROR,
        "tts failed",
        1_000_001,
    )
    rejected: Campaign = get(campaign_uuid(1_000_006))
    assert (rejected.status, rejected.system_comment) == (Status.REJECTED, "азартные игры")
    stopped: Campaign = get(campaign_uuid(1_000_005))
    assert stopped.status is Status.STOPPED
    stop_list: StopList = get(stop_list_uuid("acc_1"))
    assert stop_list.phones == ["+79161234567"]


def test_what_is_stored_now_has_the_old_form_plus_the_status(
    store: Store, make_campaign: Callable[..., Campaign], campaign_at: Any
) -> None:
    """Same topics and the same keys, so code from before reads events stored now."""
    old_keys: dict[str, set[str]] = {}
    for row in BEFORE["events"]:
        old_keys.setdefault(row["topic"], set()).update(json.loads(row["state"]))
    campaign = make_campaign()
    campaign.moderate("accepted", "rules", "", True)
    campaign.start(dt.datetime(2026, 6, 17, 13, 0, tzinfo=dt.UTC))
    campaign.pause("customer", "")
    campaign.stop("customer", "")
    failed = campaign_at(Status.ERROR)
    stop_list = StopList(account_id="acc_1")
    stop_list.add(["+79161234567"])
    mapper = store.app.mapper
    for aggregate in (campaign, failed, stop_list):
        for event in aggregate.collect_events():
            stored = mapper.to_stored_event(event)
            keys = set(json.loads(stored.state))
            expected = old_keys[stored.topic] - {"_correlation_id"}
            wire = to_wire(event)
            if wire is not None and type(wire).__name__ in GAINED_STATUS:
                expected |= {"status"}
                assert json.loads(stored.state)["status"] == GAINED_STATUS[type(wire).__name__]
            assert keys == expected, stored.topic
            assert to_wire(mapper.to_domain_event(stored)) == wire  # and back


def test_a_stored_event_with_a_field_its_contract_lacks_is_refused_clearly(
    store: Store,
) -> None:
    row = next(r for r in BEFORE["events"] if r["topic"].endswith("Campaign.Paused"))
    state = {**json.loads(row["state"]), "colour": "red"}
    with pytest.raises(ValueError, match="CampaignPaused does not fit its contract"):
        store.app.mapper.to_domain_event(_stored({**row, "state": json.dumps(state)}))
