"""Issue 14 point 1, the stats end: a reply just under the max payload on its own and over it
with the headers it echoes (nats-py lets that through; nats-server closes the connection,
and every account's queries went unanswered) is never sent. That one query gets a
`too_large` error; the service keeps its connection and answers every other query."""

from __future__ import annotations

from typing import Any

import pytest

from tests.nats_request import request
from zvonar_contracts import campaign_events as ev
from zvonar_contracts import queries as q
from zvonar_contracts import subjects
from zvonar_contracts.codec import decode_query_reply, encode, type_name
from zvonar_runtime.metrics import MESSAGES_TOO_LARGE
from zvonar_runtime.payload import message_size

pytestmark = pytest.mark.integration

HEADERS = {subjects.CORRELATION_HEADER: "c" * 64}


async def detail(feed: Any, campaign_id: int) -> tuple[int, q.QueryReply]:
    query = q.GetCampaign(
        campaign_id=campaign_id, account_id=feed.account, min_position=feed.last_position
    )
    data = await request(
        feed.nc,
        subjects.stats_query_subject(type_name(query)),
        encode(query),
        timeout=10,
        patience=3.0,
        headers=HEADERS,
    )
    return len(data), decode_query_reply(data)


async def test_a_reply_too_large_to_send_is_an_error_and_the_service_goes_on(
    stats: Any, feed: Any
) -> None:
    max_payload = feed.nc.max_payload
    # A probe: the detail of a campaign with a known comment, to learn the reply's overhead
    # (the comment is in the reply twice: the campaign's and its history entry's).
    probe_text = "x" * 1000
    await feed.campaign(feed.created(0), feed.event(ev.CampaignCommentChanged, 0, text=probe_text))
    probe_size, probe = await detail(feed, feed.cid(0))
    assert isinstance(probe, q.CampaignDetail), probe
    # The same campaign shape, its reply 40 bytes under the max payload: fine alone, over
    # the limit with the echoed correlation header.
    grow = (max_payload - 40 - probe_size) // 2
    text = probe_text + "x" * grow
    await feed.campaign(feed.created(1), feed.event(ev.CampaignCommentChanged, 1, text=text))
    before = MESSAGES_TOO_LARGE.labels("reply")._value.get()

    size, reply = await detail(feed, feed.cid(1))
    assert isinstance(reply, q.QueryError), (size, type(reply))
    assert reply.code == "too_large"
    assert MESSAGES_TOO_LARGE.labels("reply")._value.get() == before + 1
    # The service kept its connection: every other query is answered.
    assert stats._nc.is_connected
    again_size, again = await detail(feed, feed.cid(0))
    assert isinstance(again, q.CampaignDetail) and again_size == probe_size
    page = await feed.ask(q.ListCampaigns(account_id=feed.account, per_page=1))
    assert isinstance(page, q.CampaignPage) and page.total == 2
    # The premise: the refused reply fit alone and exceeded the limit with its headers.
    expected = probe_size + 2 * grow
    assert expected <= max_payload < message_size(b"x" * expected, HEADERS)
