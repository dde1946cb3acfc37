"""The Campaign aggregate beyond statuses: smart parts, caller number, comments, copy,
delete, idle reports, and the state it is loaded with."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from zvonar_campaign.domain.campaign import Campaign
from zvonar_campaign.domain.errors import InvalidTransition, ValidationFailed
from zvonar_campaign.domain.ids import campaign_uuid
from zvonar_contracts.options import CarouselRouting, Status

NOW = dt.datetime(2026, 6, 17, 13, 0, tzinfo=dt.UTC)
Make = Callable[..., Campaign]
At = Callable[[Status], Campaign]


def _names(campaign: Campaign) -> list[str]:
    return [type(e).__name__ for e in campaign.collect_events()]


def test_a_new_campaign_awaits_moderation_with_everything_it_was_created_with(
    make_campaign: Make,
) -> None:
    campaign = make_campaign(comment="первая")
    assert campaign.id == campaign_uuid(1_000_001)
    assert campaign.status is Status.MODERATION
    assert campaign.caller_number == "+79161234567"
    assert campaign.user_comment == "первая"
    assert [p.state for p in campaign.smart_parts] == ["pending"] * 3
    assert _names(campaign) == ["Created"]


def test_the_aggregate_id_follows_from_the_number_alone() -> None:
    assert campaign_uuid(1_000_001) == campaign_uuid(1_000_001)
    assert campaign_uuid(1_000_001) != campaign_uuid(1_000_002)


def test_acceptance_with_a_future_start_schedules_the_campaign(campaign_at: At) -> None:
    campaign = campaign_at(Status.MODERATION)
    campaign.moderate("accepted", "rules", "", start_ahead=True)
    assert campaign.status is Status.SCHEDULED
    assert _names(campaign) == ["Moderated", "Scheduled"]


def test_a_rejection_reason_becomes_the_system_comment(campaign_at: At) -> None:
    campaign = campaign_at(Status.CLARIFICATION)
    campaign.moderate("rejected", "moderator", "азартные игры", start_ahead=False)
    assert campaign.status is Status.REJECTED
    assert campaign.system_comment == "азартные игры"


def test_a_start_records_the_start_time_and_a_repeated_start_records_nothing(
    campaign_at: At,
) -> None:
    campaign = campaign_at(Status.SCHEDULED)
    campaign.start(NOW)
    campaign.start(NOW)
    assert campaign.started_at == NOW
    assert _names(campaign) == ["Started"]


def test_the_starts_note_is_the_system_comment_and_every_resume_carries_it(
    campaign_at: At,
) -> None:
    campaign = campaign_at(Status.ACCEPTED)
    campaign.start(NOW, note="no recognizer")
    assert (campaign.system_comment, campaign.system_note) == ("no recognizer", "no recognizer")
    campaign.pause("customer", "")
    campaign.resume(Status.IN_PROGRESS)
    started, _, resumed = campaign.collect_events()
    assert isinstance(started, Campaign.Started) and started.payload.note == "no recognizer"
    assert isinstance(resumed, Campaign.Resumed) and resumed.payload.note == "no recognizer"


def test_a_start_without_a_note_leaves_none_for_the_resumes(campaign_at: At) -> None:
    campaign = campaign_at(Status.ACCEPTED)
    campaign.start(NOW)
    campaign.pause("system", "no audio")
    campaign.resume(Status.IN_PROGRESS)
    resumed = list(campaign.collect_events())[-1]
    assert isinstance(resumed, Campaign.Resumed) and resumed.payload.note == ""


def test_who_paused_is_remembered_until_resumed(campaign_at: At) -> None:
    campaign = campaign_at(Status.IN_PROGRESS)
    campaign.pause("system", "no audio")
    assert (campaign.status, campaign.paused_by) == (Status.PAUSED, "system")
    campaign.resume(Status.PAUSED_WINDOW)
    assert (campaign.status, campaign.paused_by) == (Status.PAUSED_WINDOW, None)


def test_resume_to_a_status_that_is_no_placement_is_a_validation_error(campaign_at: At) -> None:
    campaign = campaign_at(Status.PAUSED)
    with pytest.raises(ValidationFailed):
        campaign.resume(Status.FINISHED)


def test_smart_parts_start_finish_and_a_repeated_finish_records_nothing(campaign_at: At) -> None:
    campaign = campaign_at(Status.IN_PROGRESS)
    campaign.start_smart_part(1, 1_000_010, phone_count=5)
    campaign.finish_smart_part(1)
    campaign.finish_smart_part(1)
    assert campaign.smart_parts[0].state == "finished"
    assert campaign.smart_parts[0].part_campaign_id == 1_000_010
    assert _names(campaign) == ["SmartPartStarted", "SmartPartFinished"]


def test_a_part_cannot_start_twice_nor_finish_before_it_started(campaign_at: At) -> None:
    campaign = campaign_at(Status.IN_PROGRESS)
    with pytest.raises(InvalidTransition):
        campaign.finish_smart_part(2)
    campaign.start_smart_part(1, 1_000_010, phone_count=5)
    with pytest.raises(InvalidTransition):
        campaign.start_smart_part(1, 1_000_011, phone_count=5)
    with pytest.raises(InvalidTransition):
        campaign.start_smart_part(4, 1_000_011, phone_count=5)


def test_cancel_last_cancels_the_highest_unfinished_part_started_or_not(campaign_at: At) -> None:
    campaign = campaign_at(Status.IN_PROGRESS)
    campaign.start_smart_part(1, 1_000_010, phone_count=5)
    campaign.cancel_last_smart_part()
    campaign.cancel_last_smart_part()
    assert [p.state for p in campaign.smart_parts] == ["started", "cancelled", "cancelled"]
    campaign.finish_smart_part(1)
    with pytest.raises(InvalidTransition):
        campaign.cancel_last_smart_part()


def test_cancel_all_cancels_every_unfinished_part(campaign_at: At) -> None:
    campaign = campaign_at(Status.IN_PROGRESS)
    campaign.start_smart_part(1, 1_000_010, phone_count=5)
    campaign.finish_smart_part(1)
    campaign.start_smart_part(2, 1_000_011, phone_count=2)
    campaign.collect_events()
    campaign.cancel_all_smart_parts()
    (cancelled,) = campaign.collect_events()
    assert cancelled.payload.parts == [2, 3]  # type: ignore[attr-defined]
    with pytest.raises(InvalidTransition):
        campaign.cancel_all_smart_parts()


def test_a_campaign_without_smart_parts_has_nothing_to_cancel(make_campaign: Make) -> None:
    campaign = make_campaign(smart=None)
    for cancel in (campaign.cancel_last_smart_part, campaign.cancel_all_smart_parts):
        with pytest.raises(InvalidTransition):
            cancel()


def test_the_caller_number_is_released_once(make_campaign: Make) -> None:
    campaign = make_campaign()
    campaign.release_number()
    assert campaign.caller_number is None
    with pytest.raises(InvalidTransition):
        campaign.release_number()


def test_a_carousel_campaign_has_no_number_to_release(make_campaign: Make) -> None:
    campaign = make_campaign(routing=CarouselRouting())
    assert campaign.caller_number is None
    with pytest.raises(InvalidTransition):
        campaign.release_number()


def test_a_comment_longer_than_1000_characters_is_refused(make_campaign: Make) -> None:
    campaign = make_campaign()
    campaign.collect_events()
    campaign.set_comment("я" * 1000)
    with pytest.raises(ValidationFailed) as refused:
        campaign.set_comment("я" * 1001)
    assert refused.value.field == "text"
    assert campaign.user_comment == "я" * 1000
    assert _names(campaign) == ["CommentChanged"]


def test_deleting_a_running_campaign_stops_it_first(campaign_at: At) -> None:
    campaign = campaign_at(Status.IN_PROGRESS)
    campaign.delete()
    assert (campaign.status, campaign.deleted) == (Status.STOPPED, True)
    assert _names(campaign) == ["Stopped", "Deleted"]
    with pytest.raises(InvalidTransition):
        campaign.set_comment("after")


def test_deleting_a_finished_campaign_only_deletes_it(campaign_at: At) -> None:
    campaign = campaign_at(Status.FINISHED)
    campaign.delete()
    assert _names(campaign) == ["Deleted"]


def test_a_copy_is_recorded_on_the_source(campaign_at: At) -> None:
    campaign = campaign_at(Status.FINISHED)
    campaign.record_copy(1_000_002)
    assert _names(campaign) == ["Copied"]


def test_idle_reports_are_refused_once_the_campaign_is_final(campaign_at: At) -> None:
    running = campaign_at(Status.IN_PROGRESS)
    running.report_idle("window_closed", NOW)
    assert _names(running) == ["Idle"]
    with pytest.raises(InvalidTransition):
        campaign_at(Status.STOPPED).report_idle("window_closed", None)


def test_every_event_carries_the_number_and_the_account(campaign_at: At) -> None:
    campaign = campaign_at(Status.IN_PROGRESS)
    campaign.pause("customer", "")
    campaign.stop("customer", "")
    for event in campaign.collect_events():
        assert (event.payload.campaign_id, event.payload.account_id) == (1_000_001, "acc_1")  # type: ignore[attr-defined]
