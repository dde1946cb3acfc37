"""Call partitions' checkpoints over the real projection code (SQLite): a partition applies
its own campaigns' calls and passes over the others'; a call applied under one partitioning
is not counted again under another, and a new partitioning starts where every call of the
old one was applied."""

from __future__ import annotations

from typing import Any

from zvonar_contracts.codec import encode
from zvonar_contracts.subjects import call_event_subject
from zvonar_runtime.db import Cursor
from zvonar_stats.adapters.call_projection import apply_call_batch
from zvonar_stats.adapters.checkpoints import call_checkpoint
from zvonar_stats.domain.envelope import Envelope
from zvonar_stats.domain.partitions import CallPartition, call_partitions

CIDS = [3_000_001 + i for i in range(8)]


def _stream(mk: Any) -> list[Envelope]:
    envelopes: list[Envelope] = []
    for n in range(5):
        for cid in CIDS:
            event = mk.call(cid, f"+7916{n:07d}", "answered", cost="0.10")
            subject = call_event_subject(cid, "CallCompleted")
            envelopes.append(Envelope(seq=len(envelopes) + 1, data=encode(event), subject=subject))
    return envelopes


def _apply(story: Any, partition: CallPartition, batch: list[Envelope]) -> None:
    mine = [e for e in batch if partition.holds(e.subject)]

    def work(cur: Cursor) -> None:
        apply_call_batch(cur, story.tables(cur), mine, key=partition.key, through=batch[-1].seq)

    story.query(work)


def _seq(story: Any, key: str) -> int:
    return int(story.query(lambda cur: call_checkpoint(cur, story.tables(cur), key).seq))


def test_partitions_apply_their_own_and_a_new_count_starts_where_all_were(
    story: Any, mk: Any
) -> None:
    stream = _stream(mk)
    for cid in CIDS:
        story.campaign(mk.created(cid, count=5))
    first, rest = stream[:24], stream[24:]
    for partition in call_partitions(4):
        _apply(story, partition, first)
    assert {_seq(story, p.key) for p in call_partitions(4)} == {24}
    # Partition 0 of 4 went on alone; the others stayed at 24.
    _apply(story, CallPartition(0, 4), rest)
    assert _seq(story, CallPartition(0, 4).key) == len(stream)

    # STATS_PARTITIONS changed to 2: both start at 24 (every call up to it is in), and
    # what partition 0 of 4 applied past 24 is not counted again.
    assert [_seq(story, p.key) for p in call_partitions(2)] == [24, 24]
    for partition in call_partitions(2):
        _apply(story, partition, rest)
    for cid in CIDS:
        view = story.view(cid)
        assert (view.size.answered, str(view.cost)) == (5, "0.50"), cid
