"""Caller numbers: the carousel takes the pool number used least today."""

from __future__ import annotations


def least_used(pool: list[str], usage: dict[str, int]) -> str:
    """The pool number with the fewest calls today (ties: the first in the pool)."""
    if not pool:
        raise ValueError("the caller-number pool is empty")
    return min(pool, key=lambda number: usage.get(number, 0))


def assign(pool: list[str], usage: dict[str, int], calls: int) -> list[str]:
    """Caller numbers for `calls` calls in a row; `usage` is updated in place."""
    chosen: list[str] = []
    for _ in range(calls):
        number = least_used(pool, usage)
        usage[number] = usage.get(number, 0) + 1
        chosen.append(number)
    return chosen
