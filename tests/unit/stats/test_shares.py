"""Sharing the projection's units by lease (service_layer.partitions.Shares), over a fake
lease store: the fair share, a newcomer getting units given back, a lost lease stopping
its consumer."""

from __future__ import annotations

import asyncio

from zvonar_stats.domain.partitions import CallPartition, partition_of, units
from zvonar_stats.service_layer.partitions import Shares


class FakeLeases:
    """Leases without time: a test expires one by hand."""

    def __init__(self) -> None:
        self.holders: dict[str, tuple[str, int]] = {}
        self.members: set[str] = set()
        self.revision = 0

    async def open(self) -> None:
        return None

    async def attend(self, member: str) -> int:
        self.members.add(member)
        return len(self.members)

    async def acquire(self, unit: str, owner: str) -> int | None:
        if unit in self.holders:
            return None
        self.revision += 1
        self.holders[unit] = (owner, self.revision)
        return self.revision

    async def renew(self, unit: str, owner: str, revision: int) -> int | None:
        if self.holders.get(unit) != (owner, revision):
            return None
        self.revision += 1
        self.holders[unit] = (owner, self.revision)
        return self.revision

    async def release(self, unit: str, revision: int) -> None:
        if unit in self.holders and self.holders[unit][1] == revision:
            del self.holders[unit]

    async def leave(self, member: str) -> None:
        self.members.discard(member)


class Consumers:
    def __init__(self) -> None:
        self.running: dict[str, int] = {}

    async def run(self, unit: str) -> None:
        self.running[unit] = self.running.get(unit, 0) + 1
        try:
            await asyncio.Event().wait()
        finally:
            self.running[unit] -= 1

    def live(self) -> set[str]:
        return {unit for unit, count in self.running.items() if count}


async def _settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_one_instance_takes_every_unit_and_a_newcomer_gets_its_share() -> None:
    leases, consumers = FakeLeases(), Consumers()
    all_units = units(4)
    first = Shares(leases, consumers.run, all_units, "a", ttl=10)
    await first.tick()
    await _settle()
    assert set(first.held) == set(all_units) == consumers.live()

    second = Shares(leases, consumers.run, all_units, "b", ttl=10)
    await second.tick()  # counted in, nothing free yet
    assert second.held == {}
    await first.tick()  # gives back what is over ⌈5 / 2⌉ = 3
    await second.tick()
    await _settle()
    assert len(first.held) == 3 and len(second.held) == 2
    assert set(first.held) | set(second.held) == set(all_units) == consumers.live()
    assert all(count <= 1 for count in consumers.running.values())
    for shares in (first, second):
        await shares._give_up()
    assert leases.holders == {} and consumers.live() == set()


async def test_a_lease_taken_by_another_stops_its_consumer() -> None:
    leases, consumers = FakeLeases(), Consumers()
    shares = Shares(leases, consumers.run, ["campaign", "call.0"], "a", ttl=10)
    await shares.tick()
    await _settle()
    # The lease expired (the process was paused) and another instance took it.
    del leases.holders["call.0"]
    await leases.acquire("call.0", "b")
    leases.members.add("b")
    await shares.tick()
    await _settle()
    assert set(shares.held) == {"campaign"} and consumers.live() == {"campaign"}
    await shares._give_up()


def test_a_campaigns_calls_are_all_in_one_partition() -> None:
    subjects = [f"call.events.{cid}.CallCompleted" for cid in range(1_000_001, 1_001_001)]
    by_partition = [partition_of(s, 4) for s in subjects]
    assert sorted(set(by_partition)) == [0, 1, 2, 3]
    assert min(by_partition.count(p) for p in range(4)) > 200  # roughly even
    part = CallPartition(2, 4)
    assert part.holds("call.events.1000001.CallCompleted") == (
        partition_of("call.events.1000001.InboundCallAnswered", 4) == 2
    )
    assert partition_of("call.events.bad", 4) == 0


async def test_a_stop_that_comes_while_a_unit_winds_down_is_not_swallowed() -> None:
    """The service is stopped while Shares waits for a consumer it let go of: Shares.run
    ends (it used to take the stop for the consumer's own cancel and run on for ever)."""
    leases = FakeLeases()
    winding_down, let_go = asyncio.Event(), asyncio.Event()

    async def slow_to_stop(unit: str) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            winding_down.set()
            await let_go.wait()  # finishing the batch in hand

    shares = Shares(leases, slow_to_stop, ["campaign"], "a", ttl=0.03)
    running = asyncio.create_task(shares.run())
    await asyncio.wait_for(_held(shares), 5)
    leases.holders.clear()  # another instance took it: the next tick lets it go
    await asyncio.wait_for(winding_down.wait(), 5)
    running.cancel()  # the service stops meanwhile
    let_go.set()
    done, _ = await asyncio.wait([running], timeout=5)
    assert done == {running} and running.cancelled()


async def _held(shares: Shares) -> None:
    while not shares.held:
        await shares.changed.wait()
