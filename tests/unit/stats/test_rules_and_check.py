"""The pure rules, and the in-memory recomputation the consistency check compares with."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

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
