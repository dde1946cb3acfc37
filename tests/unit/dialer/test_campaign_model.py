"""The dialer's copy of a campaign: events fold in idempotently, in log order; smart parts
and caller numbers."""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

import msgspec

from zvonar_contracts import campaign_events as ev
from zvonar_contracts.options import (
    CallerIdRouting,
    CampaignOptions,
    PhoneBaseRef,
    SmartOptions,
    Status,
    TtsAudio,
)
from zvonar_dialer.domain import caller_numbers, smart
from zvonar_dialer.domain.campaign import Campaign, apply_event, new_campaign

AT = dt.datetime(2026, 6, 17, 10, 0, tzinfo=dt.UTC)
REF = PhoneBaseRef(bucket="phone-bases", name="x", count=1, sha256="")


def campaign(**options: object) -> Campaign:
    opts = CampaignOptions(name="c", audio=TtsAudio(text="t"), **options)  # type: ignore[arg-type]
    created = ev.CampaignCreated(
        campaign_id=1000001,
        account_id="acc",
        at=AT,
        options=opts,
        phones=REF,
        account_tz="Europe/Moscow",
    )
    return new_campaign(created)


class Common(TypedDict):
    campaign_id: int
    account_id: str
    at: dt.datetime


def common() -> Common:
    return {"campaign_id": 1000001, "account_id": "acc", "at": AT}


def test_statuses_follow_the_events() -> None:
    c = campaign()
    apply_event(
        c,
        ev.CampaignModerated(
            **common(), decision="accepted", decided_by="rules", status=Status.ACCEPTED
        ),
        1,
    )
    assert (c.status, c.active) == (Status.ACCEPTED, True)
    apply_event(c, ev.CampaignStarted(**common(), started_at=AT), 2)
    apply_event(c, ev.CampaignPaused(**common(), paused_by="customer"), 3)
    assert (c.status, c.active) == (Status.PAUSED, False)
    apply_event(c, ev.CampaignResumed(**common(), status=Status.PAUSED_WINDOW), 4)
    assert (c.status, c.active) == (Status.PAUSED_WINDOW, True)
    apply_event(c, ev.CampaignDeleted(**common()), 5)
    assert (c.status, c.active) == (Status.STOPPED, False)


def test_an_event_older_than_a_known_reply_does_not_move_the_status_back() -> None:
    c = campaign()
    c.status, c.status_position = Status.IN_PROGRESS, 10  # from a command's reply

    apply_event(c, ev.CampaignOutOfWindow(**common()), 9)

    assert c.status == Status.IN_PROGRESS


def test_scheduling_keeps_the_start_time() -> None:
    c = campaign()
    start = AT + dt.timedelta(days=1)
    apply_event(c, ev.CampaignScheduled(**common(), start_at=start), 1)
    assert (c.status, c.start_at) == (Status.SCHEDULED, start)


def test_a_released_number_is_no_longer_the_caller_id() -> None:
    c = campaign(routing=CallerIdRouting(number="+74951234567"))
    assert c.caller_number == "+74951234567"
    apply_event(c, ev.CampaignNumberReleased(**common(), number="+74951234567"), 1)
    assert c.caller_number is None


def test_a_part_starts_dialling_once_announced() -> None:
    c = campaign(smart=SmartOptions(parts=2, delay_minutes=5))
    c = msgspec.structs.replace(c, part_state="starting", pending_part=1)

    apply_event(
        c, ev.SmartPartStarted(**common(), part=1, part_campaign_id=1000002, phone_count=3), 7
    )

    assert (c.current_part, c.part_state, c.pending_part) == (1, "dialling", None)
    assert c.part_campaign_ids == {1: 1000002}


def test_cancelled_parts_are_remembered() -> None:
    c = campaign(smart=SmartOptions(parts=3))
    apply_event(c, ev.SmartPartsCancelled(**common(), parts=[3]), 1)
    apply_event(c, ev.SmartPartsCancelled(**common(), parts=[2, 3]), 2)
    assert c.cancelled_parts == [2, 3]


def test_the_next_part_stops_at_the_last_or_at_a_cancelled_one() -> None:
    assert smart.next_part(0, parts=2, cancelled=[]) == 1
    assert smart.next_part(1, parts=2, cancelled=[]) == 2
    assert smart.next_part(2, parts=2, cancelled=[]) is None
    assert smart.next_part(1, parts=3, cancelled=[2, 3]) is None
    assert smart.next_part(0, parts=0, cancelled=[]) is None


def test_redial_takes_exactly_the_numbers_that_did_not_answer() -> None:
    results = [
        ("+1", "answered"),
        ("+2", "no_answer"),
        ("+3", "busy"),
        ("+4", "machine"),
        ("+5", "failed"),
        ("+6", "stop_listed"),
    ]
    assert smart.redial(results) == ["+2", "+3", "+4", "+5"]


def test_the_carousel_takes_the_number_used_least_today() -> None:
    pool = ["+74950000001", "+74950000002", "+74950000003"]
    usage = {"+74950000001": 5, "+74950000002": 1}

    chosen = caller_numbers.assign(pool, usage, 4)

    assert chosen == ["+74950000003", "+74950000002", "+74950000003", "+74950000002"]
    assert usage == {"+74950000001": 5, "+74950000002": 3, "+74950000003": 2}


def status_of(c: Campaign) -> Status:
    return c.status  # read afresh after each event (no narrowing across them)


def test_a_lifecycle_event_s_own_status_is_taken() -> None:
    c = campaign()
    # The campaign service decides: a start outside the window leaves it paused_window.
    apply_event(c, ev.CampaignStarted(**common(), started_at=AT, status=Status.PAUSED_WINDOW), 1)
    assert status_of(c) == Status.PAUSED_WINDOW
    apply_event(c, ev.CampaignScheduled(**common(), start_at=AT, status=Status.ACCEPTED), 2)
    assert status_of(c) == Status.ACCEPTED


def test_an_older_event_without_status_falls_back_to_its_kind() -> None:
    c = campaign()
    apply_event(c, ev.CampaignStarted(**common(), started_at=AT), 1)
    assert status_of(c) == Status.IN_PROGRESS
    apply_event(c, ev.CampaignOutOfWindow(**common()), 2)
    assert status_of(c) == Status.PAUSED_WINDOW
    apply_event(c, ev.CampaignScheduled(**common(), start_at=AT), 3)
    assert status_of(c) == Status.SCHEDULED
    apply_event(c, ev.CampaignFailed(**common(), reason="x"), 4)
    assert status_of(c) == Status.ERROR


def test_a_deleted_campaign_is_stopped_for_the_dialer() -> None:
    c = campaign()
    apply_event(c, ev.CampaignStarted(**common(), started_at=AT, status=Status.IN_PROGRESS), 1)
    apply_event(c, ev.CampaignDeleted(**common()), 2)
    assert (c.status, c.active) == (Status.STOPPED, False)
