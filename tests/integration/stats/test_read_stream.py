"""The replay reader (read_stream): every message from `start` to `end`, once, in stream
order, in batches of at most the size asked, whatever the batch size; nothing past `end`;
nothing at all when `start` is past it."""

from __future__ import annotations

from typing import Any

import pytest

from zvonar_contracts import subjects
from zvonar_contracts.codec import encode
from zvonar_stats.adapters.streams import read_stream

pytestmark = pytest.mark.integration


async def test_read_stream_gives_each_message_once_in_order(feed: Any, nc: Any) -> None:
    js = nc.jetstream()
    calls = [feed.call(f"+7916555{i:04d}", "no_answer") for i in range(23)]
    await feed.calls(*calls)
    last = int((await js.stream_info(subjects.CALL_EVENTS_STREAM)).state.last_seq)
    first = last - len(calls) + 1
    published = {first + i: encode(call) for i, call in enumerate(calls)}

    for batch in (1, 5, 23, 1000):
        read = [
            envelopes
            async for envelopes in read_stream(
                js, subjects.CALL_EVENTS_STREAM, start=first, end=last, batch=batch
            )
        ]
        assert all(0 < len(envelopes) <= batch for envelopes in read)
        seen = [(e.seq, e.data) for envelopes in read for e in envelopes]
        assert seen == sorted(published.items()), batch

    middle = [
        e.seq
        async for envelopes in read_stream(
            js, subjects.CALL_EVENTS_STREAM, start=first + 3, end=first + 9, batch=4
        )
        for e in envelopes
    ]
    assert middle == list(range(first + 3, first + 10))

    beyond = [b async for b in read_stream(js, subjects.CALL_EVENTS_STREAM, start=last + 1)]
    assert beyond == []
