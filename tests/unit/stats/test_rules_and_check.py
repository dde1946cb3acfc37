"""The pure rules, and the in-memory recomputation the consistency check compares with."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec

from zvonar_contracts import campaign_events as ev
from zvonar_contracts.options import Size, Status
from zvonar_stats.adapters import read_model
from zvonar_stats.domain import rules
from zvonar_stats.domain.recompute import Figures, recompute
from zvonar_stats.entrypoints.check import compare

CID = 1000001


def test_a_final_attempt_outranks_any_non_final_one(mk: Any) -> None:
    late_non_final = mk.call(CID, "+7001", "no_answer", attempt=5, final=False)
    early_final = mk.call(CID, "+7001", "answered", attempt=2)

    assert rules.rank_of(early_final) > rules.rank_of(late_non_final)


def test_a_lead_counts_only_on_an_answered_call(mk: Any) -> None:
    assert rules.category_of(mk.call(CID, "+7001", "answered", lead=True)) == rules.LEAD
    assert rules.category_of(mk.call(CID, "+7001", "no_answer", lead=True)) == rules.NOT_ANSWERED
    assert rules.category_of(mk.call(CID, "+7001", "answered", final=False)) == rules.IN_PROGRESS


def test_costs_keep_two_decimals_or_the_exact_value() -> None:
    assert rules.cost_of(rules.cost_micros(Decimal("1.8"))) == Decimal("1.80")
    assert str(rules.cost_of(0)) == "0.00"
    assert rules.cost_of(rules.cost_micros(Decimal("0.0015"))) == Decimal("0.0015")


def test_a_naive_time_is_refused() -> None:
    import datetime as dt

    try:
        rules.utc_text(dt.datetime(2026, 1, 1))
    except ValueError:
        return
    raise AssertionError("a naive datetime was accepted")


def test_recompute_follows_the_same_rules_as_the_projection(mk: Any) -> None:
    campaign_events = [
        mk.created(CID, count=3, smart_parts=1),
        mk.event(ev.SmartPartStarted, CID, part=1, part_campaign_id=CID + 1, phone_count=1),
    ]
    calls = [
        mk.call(CID, "+7001", "answered", attempt=2, cost="1.10"),
        mk.call(CID, "+7001", "no_answer", attempt=1, final=False),
        mk.call(CID, "+7002", "no_answer"),
        mk.call(CID, "+7002", "no_answer"),
        mk.call(CID, "+7002", "answered", part=1, lead=True, cost="0.40"),
    ]

    figures = recompute(campaign_events, calls)

    assert figures[CID] == Figures(
        size=Size(total=3, answered=1, not_answered=1, in_progress=1), cost=Decimal("1.10")
    )
    assert figures[CID + 1] == Figures(
        size=Size(total=1, answered=1, leads=1), cost=Decimal("0.40")
    )


def test_compare_names_every_difference() -> None:
    expected = {CID: Figures(size=Size(total=2, answered=1, in_progress=1), cost=Decimal("1.00"))}
    actual = {
        CID: (Size(total=2, answered=2), Decimal("1.50")),
        CID + 5: (Size(), Decimal("0.00")),
    }

    lines = compare(expected, actual)

    assert f"campaign {CID}: answered is 2, the streams say 1" in lines
    assert f"campaign {CID}: in_progress is 0, the streams say 1" in lines
    assert f"campaign {CID}: cost is 1.50, the streams say 1.00" in lines
    assert f"campaign {CID + 5}: in the read model, not in the streams" in lines
    assert compare(expected, {CID: (expected[CID].size, expected[CID].cost)}) == []


def test_the_projection_agrees_with_the_recomputation(story: Any, mk: Any) -> None:
    campaign_events = [
        mk.created(CID, count=4, smart_parts=1),
        mk.event(ev.CampaignStarted, CID, started_at=mk.T0),
        mk.event(ev.SmartPartStarted, CID, part=1, part_campaign_id=CID + 1, phone_count=2),
        mk.event(
            ev.CampaignModerated,
            CID,
            decision="accepted",
            decided_by="rules",
            status=Status.ACCEPTED,
        ),
    ]
    calls = [
        mk.call(CID, "+7001", "answered", cost="0.30"),
        mk.call(CID, "+7002", "stop_listed"),
        mk.call(CID, "+7003", "busy", part=1),
        mk.call(CID, "+7001", "answered", cost="0.30"),
    ]
    story.campaign(*campaign_events)
    story.calls(*calls)

    actual = story.query(read_model.all_figures)

    assert compare(recompute(campaign_events, calls), actual) == []


AT = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
OLD_LIFECYCLE: list[tuple[ev.CampaignEvent, Status]] = [
    (ev.CampaignScheduled(campaign_id=CID, account_id="a", at=AT, start_at=AT), Status.SCHEDULED),
    (ev.CampaignStarted(campaign_id=CID, account_id="a", at=AT, started_at=AT), Status.IN_PROGRESS),
    (
        ev.CampaignPaused(campaign_id=CID, account_id="a", at=AT, paused_by="customer"),
        Status.PAUSED,
    ),
    (ev.CampaignOutOfWindow(campaign_id=CID, account_id="a", at=AT), Status.PAUSED_WINDOW),
    (ev.CampaignFinished(campaign_id=CID, account_id="a", at=AT), Status.FINISHED),
    (ev.CampaignStopped(campaign_id=CID, account_id="a", at=AT), Status.STOPPED),
    (ev.CampaignFailed(campaign_id=CID, account_id="a", at=AT, reason="x"), Status.ERROR),
]


def test_an_older_lifecycle_event_without_its_status_gets_it_from_its_type() -> None:
    for event, expected in OLD_LIFECYCLE:
        # As published before the events carried it: no `status` key at all.
        fields = msgspec.to_builtins(event)
        del fields["status"]
        raw = msgspec.json.encode(fields)
        decoded = msgspec.json.decode(raw, type=ev.CampaignEvent)
        assert rules.status_after(decoded) == expected, type(event).__name__


def test_the_status_a_lifecycle_event_carries_is_the_one_taken() -> None:
    # The campaign service decides the status; stats takes its word, even where the old
    # rule would have said otherwise (each event carries a status its type would not give).
    for event, by_type in OLD_LIFECYCLE:
        carried = Status.ACCEPTED if by_type != Status.ACCEPTED else Status.SCHEDULED
        raw = msgspec.json.encode(msgspec.structs.replace(event, status=carried))
        decoded = msgspec.json.decode(raw, type=ev.CampaignEvent)
        assert rules.status_after(decoded) == carried, type(event).__name__


def test_an_event_that_leads_to_no_status_leaves_it_unchanged() -> None:
    event = ev.CampaignCommentChanged(campaign_id=CID, account_id="a", at=AT, text="hi")
    assert rules.status_after(event) is None
