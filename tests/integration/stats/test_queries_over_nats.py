"""The stats service fed through JetStream and asked over NATS, on SQLite and PostgreSQL:
every field of the campaign object, detail with history, the report, the moderation
queue, the stop-list, account scoping and read-your-writes by position."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.stats.conftest import ask
from zvonar_contracts import campaign_events as ev
from zvonar_contracts import queries as q
from zvonar_contracts.options import (
    CallerIdRouting,
    CampaignOptions,
    Size,
    SmartOptions,
    Status,
    Tag,
    WordsIvr,
)
from zvonar_stats.service_layer.queries import MIN_POSITION_WAIT_S

pytestmark = pytest.mark.integration

START = dt.datetime(2026, 6, 18, 7, 0, tzinfo=dt.UTC)


async def test_a_campaign_with_calls_and_a_smart_part_reads_back_whole(
    stats: Any, feed: Any
) -> None:
    cid, part_id = feed.cid(0), feed.cid(1)
    position = await feed.campaign(
        feed.created(
            0,
            count=4,
            speed=900,
            comment="первая",
            record=True,
            routing=CallerIdRouting(number="+74950001122"),
            ivr=WordsIvr(lead_words=["да"]),
            smart=SmartOptions(parts=1),
        ),
        feed.event(
            ev.CampaignModerated, decision="accepted", decided_by="rules", status=Status.SCHEDULED
        ),
        feed.event(ev.CampaignScheduled, start_at=START),
        feed.event(ev.CampaignStarted, started_at=START),
        feed.event(ev.SmartPartStarted, part=1, part_campaign_id=part_id, phone_count=2),
    )
    await feed.calls(
        feed.call("+79160000001", "answered", lead=True, cost="1.80"),
        feed.call("+79160000002", "no_answer", attempt=1, final=False),
        feed.call("+79160000002", "no_answer", attempt=2),
        feed.call("+79160000003", "stop_listed"),
        feed.call("+79160000002", "answered", part=1, cost="0.60"),
    )

    page = await feed.ask(q.ListCampaigns(account_id=feed.account, min_position=position))
    assert isinstance(page, q.CampaignPage)
    assert page.position >= position
    assert [item.id for item in page.items] == [part_id, cid]

    async def report_complete() -> bool:
        reply = await feed.ask(q.GetReport(campaign_id=cid, account_id=feed.account, per_page=1000))
        return isinstance(reply, q.ReportPage) and reply.total == 5

    await feed.eventually(report_complete)
    detail = await feed.ask(q.GetCampaign(campaign_id=cid, account_id=feed.account))
    assert isinstance(detail, q.CampaignDetail)
    view = detail.campaign
    assert (view.id, view.account_id, view.created_at, view.name) == (
        cid,
        feed.account,
        feed.created(0).at,
        "Акция июнь",
    )
    assert view.tags == [Tag.RECOGNITION, Tag.SMART, Tag.TTS, Tag.RECORDING]
    assert (view.smart_part, view.parent_id) == (None, None)
    assert view.status == Status.IN_PROGRESS
    assert view.start == q.Start(kind="started", at=START)
    assert view.size == Size(
        total=4, stop_listed=1, answered=1, leads=1, not_answered=1, in_progress=1
    )
    assert view.smart_size == Size(total=2, answered=1, in_progress=1)
    assert (view.speed, view.cost) == (900, Decimal("1.80"))
    assert view.comment == q.Comment(user="первая", system="")
    assert view.caller_number == "+74950001122"
    assert isinstance(detail.options, CampaignOptions) and detail.options.speed == 900
    assert [h.type for h in detail.history] == [
        "CampaignCreated",
        "CampaignModerated",
        "CampaignScheduled",
        "CampaignStarted",
        "SmartPartStarted",
    ]
    assert detail.history[2].details == {"start_at": "2026-06-18T07:00:00Z"}

    part = (await feed.ask(q.GetCampaign(campaign_id=part_id, account_id=feed.account))).campaign
    assert (part.smart_part, part.parent_id, part.name) == (1, cid, "Акция июнь")
    assert part.size == Size(total=2, answered=1, in_progress=1)
    assert part.cost == Decimal("0.60")

    report = await feed.ask(q.GetReport(campaign_id=cid, account_id=feed.account, per_page=1000))
    first = report.calls[0]
    assert (first.phone, first.part, first.attempt, first.outcome) == (
        "+79160000001",
        0,
        1,
        "answered",
    )
    assert first.started_at == feed.call("+79160000001").started_at
    assert (first.duration_s, first.cost, first.answer_text, first.lead) == (
        4.5,
        Decimal("1.80"),
        "да",
        True,
    )
    assert first.recording == f"{cid}/+79160000001.wav"
    assert [c.part for c in report.calls] == [0, 0, 0, 0, 1]
    paged = await feed.ask(
        q.GetReport(campaign_id=cid, account_id=feed.account, page=2, per_page=2)
    )
    assert (paged.total, len(paged.calls), paged.calls[0]) == (5, 2, report.calls[2])
    part_report = await feed.ask(q.GetReport(campaign_id=part_id, account_id=feed.account))
    assert [c.phone for c in part_report.calls] == ["+79160000002"]


async def test_queries_are_scoped_to_the_account(stats: Any, feed: Any) -> None:
    position = await feed.campaign(feed.created(0))
    await feed.ask(q.ListCampaigns(account_id=feed.account, min_position=position))

    other = await feed.ask(q.GetCampaign(campaign_id=feed.cid(0), account_id="acc_someone"))
    assert isinstance(other, q.QueryError) and other.code == "not_found"
    moderator = await feed.ask(q.GetCampaign(campaign_id=feed.cid(0), account_id=None))
    assert isinstance(moderator, q.CampaignDetail)
    report = await feed.ask(q.GetReport(campaign_id=feed.cid(0), account_id="acc_someone"))
    assert isinstance(report, q.QueryError) and report.code == "not_found"
    listed = await feed.ask(q.ListCampaigns(account_id="acc_someone", q=str(feed.cid(0))))
    assert listed.total == 0


async def test_search_filters_and_paging(stats: Any, feed: Any) -> None:
    position = await feed.campaign(
        feed.created(0, name="Летняя АКЦИЯ"),
        feed.created(1, name="Зимняя", record=True),
        feed.created(2, name="Осенняя акция", record=True),
        feed.event(ev.CampaignFailed, 2, reason="no audio"),
    )
    ask = feed.ask

    found = await ask(q.ListCampaigns(account_id=feed.account, q="акция", min_position=position))
    assert [i.id for i in found.items] == [feed.cid(2), feed.cid(0)]
    by_id = await ask(q.ListCampaigns(account_id=feed.account, q=str(feed.cid(1))))
    assert [i.id for i in by_id.items] == [feed.cid(1)]
    tagged = await ask(
        q.ListCampaigns(account_id=feed.account, tags=[Tag.RECORDING], statuses=[Status.ERROR])
    )
    assert [i.id for i in tagged.items] == [feed.cid(2)]
    assert tagged.items[0].comment.system == "no audio"
    moscow = dt.timezone(dt.timedelta(hours=3))
    window = await ask(
        q.ListCampaigns(
            account_id=feed.account,
            created_from=dt.datetime(2026, 6, 17, 12, 0, tzinfo=moscow),
            created_to=dt.datetime(2026, 6, 17, 12, 0, tzinfo=moscow),
        )
    )
    assert window.total == 3
    second = await ask(q.ListCampaigns(account_id=feed.account, page=2, per_page=2))
    assert (second.total, [i.id for i in second.items]) == (3, [feed.cid(0)])
    bad = await ask(q.ListCampaigns(account_id=feed.account, page=0))
    assert isinstance(bad, q.QueryError) and bad.code == "validation"
    naive = await ask(
        q.ListCampaigns(account_id=feed.account, created_from=dt.datetime(2026, 1, 1))
    )
    assert isinstance(naive, q.QueryError) and naive.code == "validation"


async def test_moderation_queue_and_stop_list(stats: Any, feed: Any) -> None:
    position = await feed.campaign(
        feed.created(0),
        feed.event(
            ev.CampaignModerated,
            decision="clarification",
            decided_by="rules",
            status=Status.CLARIFICATION,
            reason="кредит",
        ),
        ev.StopListPhonesAdded(
            account_id=feed.account, at=feed.created(0).at, phones=["+79160000009", "+79160000001"]
        ),
    )

    queue = await feed.ask(q.GetModerationQueue(min_position=position, per_page=10_000))
    mine = [i for i in queue.items if i.account_id == feed.account]
    assert [(i.id, i.comment.system) for i in mine] == [(feed.cid(0), "кредит")]
    stop_list = await feed.ask(q.GetStopList(account_id=feed.account))
    assert isinstance(stop_list, q.StopListPage)
    assert (stop_list.phones, stop_list.total) == (["+79160000001", "+79160000009"], 2)


async def test_a_garbled_query_gets_a_validation_error(stats: Any, feed: Any) -> None:
    from zvonar_contracts.codec import decode_query_reply

    data = await feed.request("stats.query.ListCampaigns", b'{"type": "Nope"}')

    reply = decode_query_reply(data)
    assert isinstance(reply, q.QueryError) and reply.code == "validation"


async def test_a_position_never_reached_is_waited_for_up_to_its_bound(
    stats: Any, feed: Any
) -> None:
    import time

    await feed.ask(q.GetStopList(account_id=feed.account))  # the responder is up
    started = time.monotonic()

    page = await ask(
        feed.nc,
        q.ListCampaigns(account_id=feed.account, min_position=2**62),
        timeout=MIN_POSITION_WAIT_S + 5,
    )

    waited = time.monotonic() - started
    assert isinstance(page, q.CampaignPage) and page.position < 2**62
    assert MIN_POSITION_WAIT_S - 0.1 <= waited < MIN_POSITION_WAIT_S + 2.5


async def test_a_search_of_any_text_is_answered(stats: Any, feed: Any) -> None:
    """Digits that are not ASCII ("²" is a digit to str.isdigit) or that overflow an id
    column are searched as a part of the name, never taken for an id."""
    position = await feed.campaign(feed.created(0, name="Квадрат²"), feed.created(1))
    for text in ("²", "9" * 30, "9" * 5000, "١٢٣", str(2**63), "²" + str(feed.cid(1))):
        found = await feed.ask(
            q.ListCampaigns(account_id=feed.account, q=text, min_position=position)
        )
        assert isinstance(found, q.CampaignPage), (text, found)
        expected = [feed.cid(0)] if text == "²" else []
        assert [i.id for i in found.items] == expected, text
