"""How the projection's work is split between stats instances.

The call stream is split into `count` partitions by a hash of the campaign id its subjects
carry (`call.events.<campaign_id>.<Type>`): every call of a campaign, smart parts
included, is in one partition, so one partition's transactions never touch another's
rows. The campaign stream is one unit of its own: the campaign-log position that queries
wait for needs its events in one order (and they are few). Each unit has its own
checkpoint and is held by one instance at a time (a lease; see service_layer.partitions).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

CAMPAIGN_UNIT = "campaign"
MAX_PARTITIONS = 256


def partition_of(subject: str, count: int) -> int:
    """The call partition of a `call.events.<campaign_id>.<Type>` subject (a subject of
    another shape, which no projection can store anyway, falls in partition 0)."""
    tokens = subject.split(".")
    if count <= 1 or len(tokens) < 4:
        return 0
    return zlib.crc32(tokens[2].encode()) % count


@dataclass(frozen=True, order=True)
class CallPartition:
    index: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_PARTITIONS or not 0 <= self.index < self.count:
            raise ValueError(f"no call partition {self.index} of {self.count}")

    @property
    def unit(self) -> str:
        """The lease's name."""
        return f"call.{self.index}"

    @property
    def key(self) -> str:
        """The checkpoint's name: a partitioning of another count has checkpoints of its own."""
        return f"call:{self.index}/{self.count}"

    def holds(self, subject: str) -> bool:
        return partition_of(subject, self.count) == self.index


def call_partitions(count: int) -> list[CallPartition]:
    return [CallPartition(index, count) for index in range(count)]


def units(count: int) -> list[str]:
    """Every lease name: the campaign stream, then each call partition."""
    return [CAMPAIGN_UNIT, *(p.unit for p in call_partitions(count))]


def fair_share(units_total: int, members: int) -> int:
    """How many units one of `members` live instances should hold."""
    return -(-units_total // max(1, members))


@dataclass(frozen=True)
class CallsApplied:
    """Which call events a read model holds: all up to `whole`, and for each partition
    count that has projected it, each partition's up to its checkpoint (a call applied
    under any partitioning is in the ledger once)."""

    whole: int
    partitioned: dict[int, dict[int, int]]  # count -> index -> seq

    @property
    def last(self) -> int:
        seqs = [seq for by_index in self.partitioned.values() for seq in by_index.values()]
        return max([self.whole, *seqs])

    @property
    def everywhere(self) -> int:
        """The sequence up to which every call is applied: the whole stream's checkpoint,
        or the furthest that every partition of one count has reached."""
        reached = [
            min(max(self.whole, by_index.get(index, 0)) for index in range(count))
            for count, by_index in self.partitioned.items()
        ]
        return max([self.whole, *reached])

    def holds(self, seq: int, subject: str) -> bool:
        if seq <= self.whole:
            return True
        return any(
            seq <= by_index.get(partition_of(subject, count), 0)
            for count, by_index in self.partitioned.items()
        )
