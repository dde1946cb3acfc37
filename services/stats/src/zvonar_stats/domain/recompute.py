"""Every row's six counters and cost recomputed from the events alone, in memory — the
reference the consistency check holds the read model to. Same rules as the projection,
none of its storage. As in the projection, the first CampaignCreated of an id wins."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import msgspec

from zvonar_contracts import campaign_events as ev
from zvonar_contracts.call_events import CallCompleted, CallEvent
from zvonar_contracts.options import Size
from zvonar_stats.domain.rules import Counters, category_of, cost_micros, cost_of, rank_of, size_of


class Figures(msgspec.Struct, frozen=True):
    size: Size
    cost: Decimal


class _Row(msgspec.Struct):
    main_id: int
    part: int
    total: int


def recompute(
    campaign_events: Iterable[ev.CampaignStreamEvent], call_events: Iterable[CallEvent]
) -> dict[int, Figures]:
    rows: dict[int, _Row] = {}
    for event in campaign_events:
        if isinstance(event, ev.CampaignCreated):
            rows.setdefault(event.campaign_id, _Row(event.campaign_id, 0, event.phones.count))
        elif isinstance(event, ev.SmartPartStarted):
            rows.setdefault(
                event.part_campaign_id, _Row(event.campaign_id, event.part, event.phone_count)
            )
    counters = _count(call for call in call_events if isinstance(call, CallCompleted))
    figures: dict[int, Figures] = {}
    for row_id, row in rows.items():
        got = counters.get((row.main_id, row.part), Counters())
        figures[row_id] = Figures(size=size_of(row.total, got), cost=cost_of(got.cost_micros))
    return figures


def _count(calls: Iterable[CallCompleted]) -> dict[tuple[int, int], Counters]:
    seen: set[str] = set()
    best: dict[tuple[int, int, str], CallCompleted] = {}
    costs: dict[tuple[int, int], int] = {}
    for call in calls:
        if call.call_id in seen:
            continue
        seen.add(call.call_id)
        key = (call.campaign_id, call.part)
        costs[key] = costs.get(key, 0) + cost_micros(call.cost)
        number = (call.campaign_id, call.part, call.phone)
        if number not in best or rank_of(call) > rank_of(best[number]):
            best[number] = call
    result: dict[tuple[int, int], Counters] = {k: Counters(cost_micros=v) for k, v in costs.items()}
    for (campaign_id, part, _), call in best.items():
        result.setdefault((campaign_id, part), Counters()).count(category_of(call), 1)
    return result
