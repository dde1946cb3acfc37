"""The table of allowed status moves of docs/PRODUCT.md, and its check."""

from __future__ import annotations

from zvonar_contracts.options import FINAL_STATUSES, Status

S = Status

ALLOWED_MOVES: dict[Status, frozenset[Status]] = {
    S.MODERATION: frozenset({S.ACCEPTED, S.SCHEDULED, S.CLARIFICATION, S.REJECTED, S.ERROR}),
    S.CLARIFICATION: frozenset({S.ACCEPTED, S.SCHEDULED, S.REJECTED}),
    S.ACCEPTED: frozenset({S.IN_PROGRESS, S.PAUSED, S.ERROR}),
    S.SCHEDULED: frozenset({S.IN_PROGRESS, S.PAUSED, S.ERROR}),
    S.IN_PROGRESS: frozenset({S.PAUSED, S.PAUSED_WINDOW, S.FINISHED, S.ERROR}),
    S.PAUSED_WINDOW: frozenset({S.IN_PROGRESS, S.PAUSED}),
    S.PAUSED: frozenset({S.IN_PROGRESS, S.SCHEDULED, S.PAUSED_WINDOW}),
}


def is_final(status: Status) -> bool:
    return status in FINAL_STATUSES


def can_move(source: Status, target: Status) -> bool:
    # Any status that is not final may be stopped, on top of the table.
    if target is S.STOPPED:
        return not is_final(source)
    return target in ALLOWED_MOVES.get(source, frozenset())
