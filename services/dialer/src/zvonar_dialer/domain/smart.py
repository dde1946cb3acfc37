"""Smart broadcast: which part comes next and which numbers it re-dials."""

from __future__ import annotations

from collections.abc import Iterable

from zvonar_contracts.call_events import NOT_ANSWERED_OUTCOMES


def next_part(finished_part: int, parts: int, cancelled: Iterable[int]) -> int | None:
    """The part to run after `finished_part`, or None when the campaign is done.

    Cancellation always takes a suffix of the parts (cancel-last / cancel-all), so the first
    cancelled part after this one ends the campaign.
    """
    candidate = finished_part + 1
    if candidate > parts or candidate in set(cancelled):
        return None
    return candidate


def redial(results: Iterable[tuple[str, str]]) -> list[str]:
    """The phones of a finished part to call again: those that did not answer, in order."""
    return [phone for phone, outcome in results if outcome in NOT_ANSWERED_OUTCOMES]
