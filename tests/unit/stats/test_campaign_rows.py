"""The campaign rows: fields from CampaignCreated, status, start column, comments, caller
number, deletion, history, search and filters."""

from __future__ import annotations

import datetime as dt
from typing import Any

from zvonar_contracts import campaign_events as ev
from zvonar_contracts.codec import encode
from zvonar_contracts.options import CallerIdRouting, CampaignOptions, Status, Tag, WordsIvr
from zvonar_contracts.queries import Comment, Start
from zvonar_stats.domain.envelope import Envelope

CID = 1000001


def test_a_created_campaign_shows_every_field(story: Any, mk: Any) -> None:
    story.campaign(
        mk.created(
            CID,
            count=4,
            speed=1200,
            comment="моя",
            routing=CallerIdRouting(number="+74950000000"),
            ivr=WordsIvr(lead_words=["да"]),
            record=True,
        )
    )

    view = story.view(CID)
    assert view.id == CID
    assert view.account_id == mk.ACCOUNT
    assert view.created_at == mk.T0
    assert view.name == "Акция июнь"
    assert view.tags == [Tag.RECOGNITION, Tag.TTS, Tag.RECORDING]
    assert (view.smart_part, view.parent_id, view.smart_size) == (None, None, None)
    assert view.status == Status.MODERATION
    assert view.start == Start(kind="not_started")
    assert view.speed == 1200
    assert str(view.cost) == "0.00"
    assert view.comment == Comment(user="моя", system="")
    assert view.caller_number == "+74950000000"


def test_carousel_has_no_caller_number_and_a_release_clears_it(story: Any, mk: Any) -> None:
    story.campaign(mk.created(CID), mk.created(CID + 1, routing=CallerIdRouting(number="+7495")))
    assert story.view(CID).caller_number is None

    story.campaign(mk.event(ev.CampaignNumberReleased, CID + 1, number="+7495"))

    assert story.view(CID + 1).caller_number is None


def test_a_scheduled_row_has_its_time_before_the_scheduled_event_arrives(
    story: Any, mk: Any
) -> None:
    start_at = mk.T0 + dt.timedelta(hours=4)
    story.campaign(
        mk.created(CID, start_at=start_at),
        mk.event(
            ev.CampaignModerated,
            CID,
            decision="accepted",
            decided_by="rules",
            status=Status.SCHEDULED,
        ),
    )
    assert story.view(CID).start == Start(kind="scheduled", at=start_at)


def test_the_lifecycle_moves_status_and_start(story: Any, mk: Any) -> None:
    start_at = mk.T0 + dt.timedelta(days=1)
    story.campaign(
        mk.created(CID),
        mk.event(
            ev.CampaignModerated,
            CID,
            decision="accepted",
            decided_by="rules",
            status=Status.SCHEDULED,
        ),
        mk.event(ev.CampaignScheduled, CID, start_at=start_at),
    )
    assert (story.view(CID).status, story.view(CID).start) == (
        Status.SCHEDULED,
        Start(kind="scheduled", at=start_at),
    )

    story.campaign(mk.event(ev.CampaignStarted, CID, started_at=start_at))
    assert story.view(CID).start == Start(kind="started", at=start_at)

    story.campaign(mk.event(ev.CampaignOutOfWindow, CID))
    assert (story.view(CID).status, story.view(CID).start.kind) == (
        Status.PAUSED_WINDOW,
        "out_of_window",
    )

    story.campaign(mk.event(ev.CampaignResumed, CID, status=Status.IN_PROGRESS))
    assert (story.view(CID).status, story.view(CID).start.kind) == (Status.IN_PROGRESS, "started")

    story.campaign(mk.event(ev.CampaignPaused, CID, paused_by="customer"))
    assert story.view(CID).status == Status.PAUSED

    story.campaign(mk.event(ev.CampaignFinished, CID))
    assert story.view(CID).status == Status.FINISHED


def test_a_campaign_that_never_called_shows_no_start_once_paused(story: Any, mk: Any) -> None:
    """Issue 18 point 8: started outside its window, paused before one call rang."""
    started = mk.T0 + dt.timedelta(minutes=1)
    story.campaign(
        mk.created(CID),
        mk.event(
            ev.CampaignModerated,
            CID,
            decision="accepted",
            decided_by="rules",
            status=Status.ACCEPTED,
        ),
        mk.event(ev.CampaignStarted, CID, started_at=started),
    )
    assert story.view(CID).start == Start(kind="started", at=started)  # it is calling now
    story.campaign(mk.event(ev.CampaignOutOfWindow, CID))
    assert story.view(CID).start.kind == "out_of_window"

    story.campaign(mk.event(ev.CampaignPaused, CID, paused_by="customer"))
    assert story.view(CID).start == Start(kind="not_started")
    story.campaign(mk.event(ev.CampaignStopped, CID))
    assert story.view(CID).start == Start(kind="not_started")

    # Once a call has rung, the start time is the campaign's, whatever its status.
    story.campaign(mk.created(CID + 1), mk.event(ev.CampaignStarted, CID + 1, started_at=started))
    story.calls(mk.call(CID + 1, "+79160000001", "no_answer"))
    story.campaign(mk.event(ev.CampaignPaused, CID + 1, paused_by="customer"))
    assert story.view(CID + 1).start == Start(kind="started", at=started)


def test_a_rejection_reason_is_the_system_comment(story: Any, mk: Any) -> None:
    story.campaign(
        mk.created(CID),
        mk.event(
            ev.CampaignModerated,
            CID,
            decision="rejected",
            decided_by="rules",
            status=Status.REJECTED,
            reason="азартные игры",
        ),
    )

    assert story.view(CID).status == Status.REJECTED
    assert story.view(CID).comment.system == "азартные игры"


def test_a_failure_reason_is_the_system_comment(story: Any, mk: Any) -> None:
    story.campaign(mk.created(CID), mk.event(ev.CampaignFailed, CID, reason="no audio"))

    assert (story.view(CID).status, story.view(CID).comment.system) == (Status.ERROR, "no audio")


def test_a_system_pause_shows_its_reason_until_the_campaign_runs_again(story: Any, mk: Any) -> None:
    reason = "Оператор связи недоступен (ConnectionError: trunk down)"
    story.campaign(
        mk.created(CID),
        mk.event(ev.CampaignStarted, CID, started_at=mk.T0),
        mk.event(ev.CampaignPaused, CID, paused_by="system", reason=reason),
    )
    assert (story.view(CID).status, story.view(CID).comment.system) == (Status.PAUSED, reason)

    story.campaign(mk.event(ev.CampaignResumed, CID, status=Status.IN_PROGRESS))
    assert (story.view(CID).status, story.view(CID).comment.system) == (Status.IN_PROGRESS, "")


def test_the_starts_note_is_the_system_comment_and_comes_back_after_a_pause(
    story: Any, mk: Any
) -> None:
    note = "IVR words are not recognized on the SIP carrier: no speech recognizer is installed"
    story.campaign(mk.created(CID), mk.event(ev.CampaignStarted, CID, started_at=mk.T0, note=note))
    assert (story.view(CID).status, story.view(CID).comment.system) == (Status.IN_PROGRESS, note)

    reason = "Оператор связи недоступен (503)"
    story.campaign(mk.event(ev.CampaignPaused, CID, paused_by="system", reason=reason))
    assert story.view(CID).comment.system == reason
    story.campaign(mk.event(ev.CampaignResumed, CID, status=Status.IN_PROGRESS, note=note))
    assert story.view(CID).comment.system == note


def test_a_customer_pause_leaves_no_system_comment(story: Any, mk: Any) -> None:
    story.campaign(mk.created(CID), mk.event(ev.CampaignPaused, CID, paused_by="customer"))

    assert story.view(CID).comment.system == ""


def test_the_customer_comment_changes(story: Any, mk: Any) -> None:
    story.campaign(mk.created(CID), mk.event(ev.CampaignCommentChanged, CID, text="позвонить"))

    assert story.view(CID).comment.user == "позвонить"


def test_a_deleted_campaign_is_hidden_from_every_query(story: Any, mk: Any) -> None:
    story.campaign(mk.created(CID), mk.created(CID + 1), mk.event(ev.CampaignDeleted, CID))

    assert story.ids() == [CID + 1]
    assert story.detail(CID) is None


def test_history_lists_every_event_with_its_own_fields(story: Any, mk: Any) -> None:
    story.campaign(
        mk.created(CID),
        mk.event(
            ev.CampaignModerated,
            CID,
            decision="clarification",
            decided_by="rules",
            status=Status.CLARIFICATION,
            reason="кредит",
        ),
        mk.event(ev.CampaignIdle, CID, reason="window_closed"),
    )

    _, options, history = story.detail(CID)
    assert isinstance(options, CampaignOptions)
    assert [h.type for h in history] == ["CampaignCreated", "CampaignModerated", "CampaignIdle"]
    assert history[1].details == {
        "decision": "clarification",
        "decided_by": "rules",
        "status": "clarification",
        "reason": "кредит",
    }
    assert history[1].at == mk.T0
    assert "options" not in history[0].details and "campaign_id" not in history[0].details


def test_the_list_is_newest_first_and_scoped_to_the_account(story: Any, mk: Any) -> None:
    story.campaign(
        mk.created(CID, at=mk.T0),
        mk.created(CID + 1, at=mk.T0 + dt.timedelta(hours=1)),
        mk.created(CID + 2, at=mk.T0 + dt.timedelta(hours=1)),
        mk.created(CID + 3, account="acc_other"),
    )

    assert story.ids() == [CID + 2, CID + 1, CID]
    assert story.ids(account_id="acc_other") == [CID + 3]


def test_search_is_case_insensitive_on_cyrillic_names(story: Any, mk: Any) -> None:
    story.campaign(
        mk.created(CID, name="Акция ИЮНЬ"),
        mk.created(CID + 1, name="Sale 100% off_now"),
        mk.created(CID + 2, name="Другое"),
    )

    assert story.ids(q="июнь") == [CID]
    assert story.ids(q="АКЦИЯ") == [CID]
    assert story.ids(q="100%") == [CID + 1]
    assert story.ids(q="f_n") == [CID + 1]
    assert story.ids(q="0%") == [CID + 1]
    assert story.ids(q="x_y") == []


def test_digits_match_an_exact_id_or_a_name_containing_them(story: Any, mk: Any) -> None:
    story.campaign(mk.created(CID, name="Май"), mk.created(CID + 1, name=f"Повтор {CID}"))

    assert story.ids(q=str(CID)) == [CID + 1, CID]
    assert story.ids(q=str(CID + 1)) == [CID + 1]
    assert story.ids(q="100000") == [CID + 1]


def test_filters_by_status_tags_dates_and_ids(story: Any, mk: Any) -> None:
    story.campaign(
        mk.created(CID, at=mk.T0, record=True, amd=True),
        mk.created(CID + 1, at=mk.T0 + dt.timedelta(days=1), record=True),
        mk.created(CID + 2, at=mk.T0 + dt.timedelta(days=2)),
        mk.event(ev.CampaignFailed, CID + 2, reason="x"),
    )

    assert story.ids(statuses=[Status.ERROR, Status.PAUSED]) == [CID + 2]
    assert story.ids(tags=[Tag.RECORDING]) == [CID + 1, CID]
    assert story.ids(tags=[Tag.RECORDING, Tag.AMD]) == [CID]
    day2 = "2026-06-18T09:00:00.000000+00:00"
    assert story.ids(created_from=day2) == [CID + 2, CID + 1]
    assert story.ids(created_to=day2) == [CID + 1, CID]
    assert story.ids(ids=[CID, CID + 2]) == [CID + 2, CID]
    assert story.ids(ids=[]) == []


def test_the_stop_list_follows_adds_and_removals(story: Any, mk: Any) -> None:
    from zvonar_stats.adapters import read_model

    story.campaign(
        ev.StopListPhonesAdded(account_id="acc_1", at=mk.T0, phones=["+7002", "+7001", "+7003"]),
        ev.StopListPhonesAdded(account_id="acc_2", at=mk.T0, phones=["+7009"]),
        ev.StopListPhonesRemoved(account_id="acc_1", at=mk.T0, phones=["+7003"]),
        ev.StopListPhonesAdded(account_id="acc_1", at=mk.T0, phones=["+7001"]),
    )

    phones = story.query(lambda cur: read_model.stop_list(cur, "acc_1", offset=0, limit=50))
    assert phones == (["+7001", "+7002"], 2)


def test_a_replayed_campaign_batch_changes_nothing(story: Any, mk: Any) -> None:
    story.campaign(mk.created(CID))
    story.campaign(mk.event(ev.CampaignCommentChanged, CID, text="первый"))
    stale = Envelope(seq=2, data=encode(mk.event(ev.CampaignCommentChanged, CID, text="старый")))
    story.campaign_batch([stale])  # a sequence already applied: skipped

    assert story.view(CID).comment.user == "первый"
    assert len(story.detail(CID)[2]) == 2
