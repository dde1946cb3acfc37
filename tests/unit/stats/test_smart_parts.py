"""Smart parts: rows of their own, counted apart from the main pass, summed into the
parent's smart_size, mirroring the parent's pause and stop."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from zvonar_contracts import campaign_events as ev
from zvonar_contracts.options import Size, Status, Tag
from zvonar_contracts.queries import Start

CID = 1000001
PART1 = 1000002
PART2 = 1000003


def smart_campaign(story: Any, mk: Any, count: int = 4) -> None:
    story.campaign(
        mk.created(CID, count=count, smart_parts=2),
        mk.event(ev.CampaignStarted, CID, started_at=mk.T0),
    )


def part_started(mk: Any, part: int, row: int, phone_count: int) -> Any:
    return mk.event(
        ev.SmartPartStarted, CID, part=part, part_campaign_id=row, phone_count=phone_count
    )


def test_smart_size_is_zeros_before_the_first_part(story: Any, mk: Any) -> None:
    smart_campaign(story, mk)

    assert story.view(CID).smart_size == Size()


def test_a_campaign_without_smart_has_no_smart_size(story: Any, mk: Any) -> None:
    story.campaign(mk.created(CID))

    assert story.view(CID).smart_size is None


def test_a_part_is_its_own_row_with_its_parents_name(story: Any, mk: Any) -> None:
    smart_campaign(story, mk)
    story.campaign(part_started(mk, 1, PART1, 3))

    part = story.view(PART1)
    assert (part.smart_part, part.parent_id, part.name) == (1, CID, "Акция июнь")
    assert Tag.SMART in part.tags
    assert part.status == Status.IN_PROGRESS
    assert part.start == Start(kind="started", at=mk.T0)
    assert part.size == Size(total=3, in_progress=3)
    assert part.smart_size is None
    assert story.ids() == [PART1, CID]


def test_part_calls_count_in_the_part_row_and_the_parents_smart_size(story: Any, mk: Any) -> None:
    smart_campaign(story, mk, count=4)
    story.calls(
        mk.call(CID, "+70000000001", "answered", cost="1.00"),
        mk.call(CID, "+70000000002", "no_answer"),
        mk.call(CID, "+70000000003", "no_answer"),
        mk.call(CID, "+70000000004", "busy"),
    )
    story.campaign(part_started(mk, 1, PART1, 3))
    story.calls(
        mk.call(CID, "+70000000002", "answered", part=1, lead=True, cost="0.50"),
        mk.call(CID, "+70000000003", "no_answer", part=1),
    )
    story.campaign(part_started(mk, 2, PART2, 2))
    story.calls(mk.call(CID, "+70000000003", "answered", part=2, cost="0.25"))

    parent = story.view(CID)
    assert parent.size == Size(total=4, answered=1, not_answered=3)
    assert parent.cost == Decimal("1.00")
    assert story.view(PART1).size == Size(
        total=3, answered=1, leads=1, not_answered=1, in_progress=1
    )
    assert story.view(PART1).cost == Decimal("0.50")
    assert story.view(PART2).size == Size(total=2, answered=1, in_progress=1)
    assert parent.smart_size == Size(total=5, answered=2, leads=1, not_answered=1, in_progress=2)


def test_part_calls_projected_before_the_part_row_count_once_it_appears(
    story: Any, mk: Any
) -> None:
    smart_campaign(story, mk)
    story.calls(mk.call(CID, "+70000000002", "answered", part=1))
    assert story.view(CID).smart_size == Size()

    story.campaign(part_started(mk, 1, PART1, 2))

    assert story.view(PART1).size == Size(total=2, answered=1, in_progress=1)


def test_a_part_finishes_and_cancelled_parts_stop(story: Any, mk: Any) -> None:
    smart_campaign(story, mk)
    story.campaign(part_started(mk, 1, PART1, 2), part_started(mk, 2, PART2, 2))
    story.campaign(mk.event(ev.SmartPartFinished, CID, part=1, part_campaign_id=PART1))
    story.campaign(mk.event(ev.SmartPartsCancelled, CID, parts=[1, 2]))

    assert story.view(PART1).status == Status.FINISHED
    assert story.view(PART2).status == Status.STOPPED


def test_a_running_part_mirrors_its_parents_pause_resume_and_stop(story: Any, mk: Any) -> None:
    smart_campaign(story, mk)
    story.campaign(part_started(mk, 1, PART1, 2))

    story.campaign(mk.event(ev.CampaignPaused, CID, paused_by="customer"))
    assert story.view(PART1).status == Status.PAUSED
    story.campaign(mk.event(ev.CampaignResumed, CID, status=Status.IN_PROGRESS))
    assert story.view(PART1).status == Status.IN_PROGRESS
    story.campaign(mk.event(ev.CampaignStopped, CID))
    assert story.view(PART1).status == Status.STOPPED
    assert story.view(CID).status == Status.STOPPED


def test_a_finished_part_keeps_its_status_when_the_parent_stops(story: Any, mk: Any) -> None:
    smart_campaign(story, mk)
    story.campaign(part_started(mk, 1, PART1, 2))
    story.campaign(mk.event(ev.SmartPartFinished, CID, part=1, part_campaign_id=PART1))
    story.campaign(mk.event(ev.CampaignStopped, CID))

    assert story.view(PART1).status == Status.FINISHED


def test_deleting_the_parent_hides_its_parts(story: Any, mk: Any) -> None:
    smart_campaign(story, mk)
    story.campaign(part_started(mk, 1, PART1, 2), mk.event(ev.CampaignDeleted, CID))

    assert story.ids() == []


def test_a_part_has_the_start_and_finish_in_its_history(story: Any, mk: Any) -> None:
    smart_campaign(story, mk)
    story.campaign(part_started(mk, 1, PART1, 2))
    story.campaign(mk.event(ev.SmartPartFinished, CID, part=1, part_campaign_id=PART1))

    history = story.detail(PART1)[2]
    assert [h.type for h in history] == ["SmartPartStarted", "SmartPartFinished"]
