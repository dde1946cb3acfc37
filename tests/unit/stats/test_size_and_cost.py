"""The six counters and the cost of a row, as the call projection keeps them."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from zvonar_contracts.options import Size

CID = 1000001


def assert_invariants(size: Size) -> None:
    assert size.total == size.stop_listed + size.answered + size.not_answered + size.in_progress
    assert 0 <= size.leads <= size.answered


def test_a_new_campaign_has_every_number_in_progress(story: Any, mk: Any) -> None:
    story.campaign(mk.created(CID, count=5))

    assert story.view(CID).size == Size(total=5, in_progress=5)


def test_each_final_outcome_lands_in_its_counter(story: Any, mk: Any) -> None:
    story.campaign(mk.created(CID, count=6))
    story.calls(
        mk.call(CID, "+70000000001", "answered"),
        mk.call(CID, "+70000000002", "answered", lead=True),
        mk.call(CID, "+70000000003", "no_answer"),
        mk.call(CID, "+70000000004", "busy"),
        mk.call(CID, "+70000000005", "stop_listed"),
    )

    assert story.view(CID).size == Size(
        total=6, stop_listed=1, answered=2, leads=1, not_answered=2, in_progress=1
    )


def test_machine_and_failed_count_as_not_answered(story: Any, mk: Any) -> None:
    story.campaign(mk.created(CID, count=2))
    story.calls(mk.call(CID, "+70000000001", "machine"), mk.call(CID, "+70000000002", "failed"))

    assert story.view(CID).size.not_answered == 2


def test_a_number_counts_once_whatever_its_attempts(story: Any, mk: Any) -> None:
    story.campaign(mk.created(CID, count=1))
    story.calls(mk.call(CID, "+70000000001", "no_answer", attempt=1, final=False))
    assert story.view(CID).size == Size(total=1, in_progress=1)

    story.calls(mk.call(CID, "+70000000001", "busy", attempt=2, final=False))
    story.calls(mk.call(CID, "+70000000001", "answered", attempt=3, lead=True))

    assert story.view(CID).size == Size(total=1, answered=1, leads=1)


def test_attempts_out_of_order_give_the_same_result(story: Any, mk: Any) -> None:
    story.campaign(mk.created(CID, count=1))
    story.calls(mk.call(CID, "+70000000001", "answered", attempt=3))
    story.calls(mk.call(CID, "+70000000001", "no_answer", attempt=1, final=False))
    story.calls(mk.call(CID, "+70000000001", "no_answer", attempt=2, final=False))

    assert story.view(CID).size == Size(total=1, answered=1)


def test_a_later_final_attempt_replaces_an_earlier_one(story: Any, mk: Any) -> None:
    story.campaign(mk.created(CID, count=1))
    story.calls(mk.call(CID, "+70000000001", "no_answer", attempt=1))
    story.calls(mk.call(CID, "+70000000001", "answered", attempt=2))

    assert story.view(CID).size == Size(total=1, answered=1)


def test_a_duplicate_call_changes_nothing(story: Any, mk: Any) -> None:
    story.campaign(mk.created(CID, count=2))
    first = mk.call(CID, "+70000000001", "answered", cost="1.80")
    story.calls(first, first)
    story.calls(first)

    view = story.view(CID)
    assert view.size == Size(total=2, answered=1, in_progress=1)
    assert view.cost == Decimal("1.80")
    assert story.query(lambda cur: cur.execute("SELECT COUNT(*) FROM calls_g1").fetchone()[0]) == 1


def test_a_redelivered_batch_is_skipped(story: Any, mk: Any) -> None:
    story.campaign(mk.created(CID, count=2))
    batch = story.calls(mk.call(CID, "+70000000001", "answered", cost="2.00"))
    story.call_batch(batch)

    assert story.view(CID).cost == Decimal("2.00")
    assert story.view(CID).size.answered == 1


def test_cost_is_the_exact_sum_of_the_calls(story: Any, mk: Any) -> None:
    story.campaign(mk.created(CID, count=3))
    story.calls(
        mk.call(CID, "+70000000001", "answered", cost="0.10"),
        mk.call(CID, "+70000000002", "answered", cost="0.20"),
    )
    story.calls(mk.call(CID, "+70000000003", "answered", cost="1234567.01"))

    assert story.view(CID).cost == Decimal("1234567.31")


def test_every_attempt_is_charged_even_when_not_final(story: Any, mk: Any) -> None:
    story.campaign(mk.created(CID, count=1))
    story.calls(
        mk.call(CID, "+70000000001", "answered", attempt=1, final=False, cost="0.50"),
        mk.call(CID, "+70000000001", "answered", attempt=2, cost="0.70"),
    )

    assert story.view(CID).cost == Decimal("1.20")


def test_calls_before_the_campaign_row_still_count(story: Any, mk: Any) -> None:
    story.calls(mk.call(CID, "+70000000001", "busy"))
    story.campaign(mk.created(CID, count=3))

    assert story.view(CID).size == Size(total=3, not_answered=1, in_progress=2)


def test_invariants_hold_after_every_batch_of_a_shuffled_run(story: Any, mk: Any) -> None:
    rng = random.Random(7)
    phones = [f"+7900000{i:04d}" for i in range(60)]
    story.campaign(mk.created(CID, count=len(phones)))
    calls = []
    for phone in phones:
        attempts = rng.randint(1, 3)
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            outcome = (
                rng.choice(["answered", "no_answer", "busy", "stop_listed"])
                if last
                else "no_answer"
            )
            calls.append(
                mk.call(
                    CID,
                    phone,
                    outcome,
                    attempt=attempt,
                    final=last,
                    lead=outcome == "answered" and rng.random() < 0.5,
                )
            )
    rng.shuffle(calls)
    calls += rng.sample(calls, 20)  # duplicates
    for start in range(0, len(calls), 7):
        story.calls(*calls[start : start + 7])
        assert_invariants(story.view(CID).size)
    assert story.view(CID).size.in_progress == 0
