"""Every pair of statuses: the moves of docs/PRODUCT.md are allowed, every other is refused
and records nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from zvonar_campaign.domain.campaign import Campaign
from zvonar_campaign.domain.errors import InvalidTransition
from zvonar_campaign.domain.transitions import ALLOWED_MOVES, can_move
from zvonar_contracts.options import FINAL_STATUSES, Status

S = Status
NOW = dt.datetime(2026, 6, 17, 13, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=1)
Move = Callable[[Campaign], None]

# Every command that aims a campaign at a status.
MOVES_TO: dict[Status, list[Move]] = {
    S.ACCEPTED: [lambda c: c.moderate("accepted", "moderator", "", False)],
    S.SCHEDULED: [
        lambda c: c.moderate("accepted", "moderator", "", True),
        lambda c: c.resume(S.SCHEDULED),
    ],
    S.CLARIFICATION: [lambda c: c.moderate("clarification", "rules", "", False)],
    S.REJECTED: [lambda c: c.moderate("rejected", "moderator", "no", False)],
    S.ERROR: [lambda c: c.fail("boom")],
    S.IN_PROGRESS: [lambda c: c.start(NOW), lambda c: c.resume(S.IN_PROGRESS)],
    S.PAUSED: [lambda c: c.pause("customer", "")],
    S.PAUSED_WINDOW: [lambda c: c.mark_out_of_window(LATER), lambda c: c.resume(S.PAUSED_WINDOW)],
    S.FINISHED: [lambda c: c.finish()],
    S.STOPPED: [lambda c: c.stop("customer", "")],
}
# docs/PRODUCT.md's "Allowed moves", written out here by hand — not read from the code, so a
# wrong table in the code fails this test instead of being copied into it.
PRODUCT_MOVES = """
moderation    -> accepted scheduled clarification rejected error
clarification -> accepted scheduled rejected
accepted      -> in_progress paused error
scheduled     -> in_progress paused error
in_progress   -> paused paused_window finished error
paused_window -> in_progress paused
paused        -> in_progress scheduled paused_window
"""
PRODUCT_FINAL = {"finished", "stopped", "rejected", "error"}


def _product_table() -> set[tuple[Status, Status]]:
    table: set[tuple[Status, Status]] = set()
    for line in PRODUCT_MOVES.strip().splitlines():
        source, targets = (part.split() for part in line.split("->"))
        table |= {(S(source[0]), S(target)) for target in targets}
    # "any status that is not final -> stopped"
    table |= {(source, S.STOPPED) for source in S if source.value not in PRODUCT_FINAL}
    return table


PRODUCT_TABLE = _product_table()

PAIRS = [(source, target) for source in S for target in MOVES_TO]


def _outcome(campaign: Campaign, move: Move) -> tuple[Status, int] | None:
    source = campaign.status
    try:
        move(campaign)
    except InvalidTransition:
        assert campaign.status is source
        assert campaign.collect_events() == []
        return None
    return campaign.status, len(campaign.collect_events())


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{s}->{t}" for s, t in PAIRS])
def test_a_move_is_allowed_exactly_when_the_product_table_lists_it(
    source: Status, target: Status, campaign_at: Callable[[Status], Campaign]
) -> None:
    outcomes = [_outcome(campaign_at(source), move) for move in MOVES_TO[target]]
    moved = [o for o in outcomes if o is not None and o[0] is target and o[1] > 0]
    if (source, target) in PRODUCT_TABLE:
        assert moved, f"{source} -> {target} should be allowed"
    else:
        assert not moved, f"{source} -> {target} should be refused"
        # A refused move changes nothing: it raised, or (a dialer retry) recorded nothing.
        assert all(o is None or o == (source, 0) for o in outcomes)


def test_the_table_in_code_is_the_table_of_the_product() -> None:
    in_code = {(source, target) for source in S for target in S if can_move(source, target)}
    assert in_code == PRODUCT_TABLE
    assert {status.value for status in FINAL_STATUSES} == PRODUCT_FINAL
    assert set(ALLOWED_MOVES) == {s for s, target in PRODUCT_TABLE if target is not S.STOPPED}
    assert can_move(S.PAUSED, S.SCHEDULED)
    assert not can_move(S.FINISHED, S.STOPPED)
    assert not can_move(S.MODERATION, S.IN_PROGRESS)
    assert all(not can_move(final, target) for final in FINAL_STATUSES for target in S)


def test_moving_into_moderation_is_never_possible() -> None:
    assert all(not can_move(source, S.MODERATION) for source in S)


@pytest.mark.parametrize("final", sorted(FINAL_STATUSES))
def test_a_final_campaign_refuses_pause_resume_and_stop(
    final: Status, campaign_at: Callable[[Status], Campaign]
) -> None:
    campaign = campaign_at(final)
    moves: tuple[Callable[[Campaign], None], ...] = (
        lambda c: c.pause("customer", ""),
        lambda c: c.resume(S.IN_PROGRESS),
        lambda c: c.stop("customer", ""),
    )
    for move in moves:
        with pytest.raises(InvalidTransition):
            move(campaign)
    assert campaign.collect_events() == []
