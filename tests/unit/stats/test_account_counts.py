"""The per-account counts (visible rows by account, status and tags) that a list's total
and the campaigns gauge read: each batch adds what it changed, and the result is always
what a recount from the rows gives."""

from __future__ import annotations

import random
from typing import Any

from zvonar_contracts import campaign_events as ev
from zvonar_contracts.options import Status
from zvonar_runtime.db import Cursor
from zvonar_stats.adapters.campaign_projection import recount_accounts

CID = 2_000_001
OTHER = "acc_2"


def _counts(cur: Cursor, t: Any) -> list[tuple[Any, ...]]:
    rows = cur.execute(
        f"SELECT account_id, status, tags, rows FROM {t.account_counts} ORDER BY 1, 2, 3"
    ).fetchall()
    return [tuple(row) for row in rows]


def _recounted(story: Any) -> list[tuple[Any, ...]]:
    def work(cur: Cursor) -> list[tuple[Any, ...]]:
        t = story.tables(cur)
        kept = _counts(cur, t)
        recount_accounts(cur, t, {"acc_1", OTHER})
        recounted = _counts(cur, t)
        cur.execute(f"DELETE FROM {t.account_counts}")
        cur.executemany(f"INSERT INTO {t.account_counts} VALUES (?, ?, ?, ?)", kept)
        return recounted

    return list(story.query(work))


def test_counts_follow_every_kind_of_change_as_a_recount_would(story: Any, mk: Any) -> None:
    rng = random.Random(5)
    live: list[int] = []
    events: list[Any] = []
    for i in range(60):
        cid = CID + 10 * i
        account = mk.ACCOUNT if i % 3 else OTHER
        events.append(
            mk.created(cid, account=account, record=i % 2 == 0, smart_parts=2 if i % 4 else None)
        )
        live.append(cid)
    moves = [
        lambda cid, account: mk.event(
            ev.CampaignModerated,
            cid,
            account,
            decision="accepted",
            decided_by="rules",
            status=Status.ACCEPTED,
        ),
        lambda cid, account: mk.event(ev.CampaignStarted, cid, account, started_at=mk.T0),
        lambda cid, account: mk.event(
            ev.SmartPartStarted, cid, account, part=1, part_campaign_id=cid + 1, phone_count=3
        ),
        lambda cid, account: mk.event(ev.CampaignStopped, cid, account),
        lambda cid, account: mk.event(ev.CampaignDeleted, cid, account),
        lambda cid, account: mk.event(ev.CampaignCommentChanged, cid, account, text="x"),
    ]
    for _ in range(200):
        i = rng.randrange(len(live))
        account = mk.ACCOUNT if i % 3 else OTHER
        events.append(rng.choice(moves)(live[i], account))
    # Batches of every size, as the consumer hands them over.
    while events:
        size = rng.randint(1, 25)
        story.campaign(*events[:size])
        events = events[size:]
        assert story.query(lambda cur: _counts(cur, story.tables(cur))) == _recounted(story)
    assert story.ids(statuses=[Status.STOPPED]) or story.ids(statuses=[Status.IN_PROGRESS])


def test_a_batch_changes_only_the_groups_its_rows_left_or_joined(story: Any, mk: Any) -> None:
    story.campaign(mk.created(CID), mk.created(CID + 1, account=OTHER))

    def tamper(cur: Cursor) -> None:
        # A group the next batch does not touch: a recount of the account would rewrite it.
        t = story.tables(cur)
        cur.execute(
            f"INSERT INTO {t.account_counts} VALUES (?, 'finished', ',x,', 7)", (mk.ACCOUNT,)
        )

    story.query(tamper)
    story.campaign(mk.created(CID + 2), mk.event(ev.CampaignDeleted, CID + 1, OTHER))

    counts = story.query(lambda cur: _counts(cur, story.tables(cur)))
    assert (mk.ACCOUNT, "finished", ",x,", 7) in counts
    assert [row for row in counts if row[0] == OTHER] == []
    moderation = [row for row in counts if row[0] == mk.ACCOUNT and row[1] == "moderation"]
    assert sum(row[3] for row in moderation) == 2
