"""Partitions of the campaigns among several dialers (docs/scaling.md "Dialers")."""

from __future__ import annotations

from typing import NamedTuple


def partition_of(campaign_id: int, partitions: int) -> int:
    return campaign_id % partitions


class OutboxScope(NamedTuple):
    """The outbox rows one dialer publishes: those of campaigns in the lease partitions it
    holds (rows written before the outbox named their campaign go with partition 0)."""

    partitions: int
    held: frozenset[int]
