"""Sharing the campaigns' partitions between dialers (service_layer/ownership.py), on an
in-memory lease store whose leases age out by a clock the test moves."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from zvonar_dialer.adapters import lease_fences, schema
from zvonar_dialer.adapters.store import SqlTransactions, SqlTx
from zvonar_dialer.service_layer.ownership import LeaseLost, PartitionOwnership
from zvonar_runtime.db import Cursor, Database

TTL_S = 9.0
PARTITIONS = 8


@dataclass
class Board:
    """The key-value store's side: keys with their holder, revision and time written."""

    now: float = 0.0
    revision: int = 0
    keys: dict[str, tuple[str, int, float]] = field(default_factory=dict)

    def live(self, key: str) -> tuple[str, int, float] | None:
        entry = self.keys.get(key)
        if entry is None or self.now - entry[2] >= TTL_S:
            return None
        return entry

    def write(self, key: str, holder: str) -> int:
        self.revision += 1
        self.keys[key] = (holder, self.revision, self.now)
        return self.revision


@dataclass
class FakeLeases:
    """The lease port over a Board, for one dialer."""

    board: Board
    me: str
    ttl_s: float = TTL_S
    broken: bool = False

    async def acquire(self, name: str) -> int | None:
        self._check()
        if self.board.live(name) is not None:
            return None
        return self.board.write(name, self.me)

    async def renew(self, name: str, revision: int) -> int | None:
        self._check()
        entry = self.board.live(name)
        if entry is None or entry[1] != revision:
            return None
        return self.board.write(name, self.me)

    async def release(self, name: str, revision: int) -> None:
        entry = self.board.live(name)
        if entry is not None and entry[1] == revision:
            del self.board.keys[name]

    async def heartbeat(self) -> None:
        self._check()
        self.board.write(f"m.{self.me}", self.me)

    async def leave(self) -> None:
        self.board.keys.pop(f"m.{self.me}", None)

    async def members(self) -> set[str]:
        self._check()
        return {
            key[2:]
            for key in list(self.board.keys)
            if key.startswith("m.") and self.board.live(key)
        }

    def _check(self) -> None:
        if self.broken:
            raise ConnectionError("NATS away")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.from_settings(None, tmp_path / "dialer.sqlite3", "dialer")
    database.run_sync(schema.create_schema)
    yield database
    database.close()


def ownership(
    db: Database, board: Board, name: str, leases: FakeLeases | None = None
) -> PartitionOwnership:
    port = leases or FakeLeases(board, name)
    return PartitionOwnership(SqlTransactions(db), port, name, PARTITIONS, clock=lambda: board.now)


async def test_three_dialers_each_hold_their_share_and_no_partition_twice(db: Database) -> None:
    board = Board()
    dialers = [ownership(db, board, name) for name in ("a", "b", "c")]
    for _ in range(4):  # join, hand over, release, take
        for dialer in dialers:
            await dialer.round()
        board.now += TTL_S / 3
    held = [set(d.held) for d in dialers]
    assert sorted(len(h) for h in held) == [2, 3, 3]  # ⌈8 / 3⌉ at most
    assert Counter(p for h in held for p in h) == Counter(range(PARTITIONS))
    holders = db.run_sync(lease_fences.holders)
    assert all(holders[p] == d.instance_id for d in dialers for p in d.held)
    for campaign_id in range(100, 100 + PARTITIONS):
        assert sum(d.owns(campaign_id) for d in dialers) == 1


async def test_a_dialer_that_cannot_renew_stops_before_its_lease_can_pass(db: Database) -> None:
    board = Board()
    a_leases = FakeLeases(board, "a")
    a, b = ownership(db, board, "a", a_leases), ownership(db, board, "b")
    await a.round()
    assert a.owns(100)
    a_leases.broken = True  # NATS away
    with pytest.raises(ConnectionError):
        await a.round()
    board.now += 0.75 * TTL_S  # A's last renewal counts this long…
    assert not a.owns(100)
    with pytest.raises(LeaseLost):
        db.run_sync(lambda cur: a.check(SqlTx(cur), 100, dialling=True))
    # Results of calls already placed are still recorded while nobody took over.
    db.run_sync(lambda cur: a.check(SqlTx(cur), 100, dialling=False))
    await b.round()
    assert not b.held  # …while its leases have not aged out yet: nobody dials meanwhile
    board.now += 0.25 * TTL_S
    await b.round()
    assert len(b.held) == PARTITIONS  # aged out (A's member key too): B takes them all

    a_leases.broken = False  # back: it finds them lost
    await a.round()
    assert not any(a.owns(c) for c in range(100, 100 + PARTITIONS))
    assert not a.held  # every renewal refused; B holds more than its share of two…
    with pytest.raises(LeaseLost):
        db.run_sync(lambda cur: a.check(SqlTx(cur), 100, dialling=False))
    await b.round()  # …and hands half over
    board.now += TTL_S / 3
    await b.round()
    await a.round()
    assert len(a.held) == len(b.held) == PARTITIONS // 2


async def test_a_partition_is_handed_over_only_once_its_calls_here_ended(db: Database) -> None:
    board = Board()
    calls_here: set[str] = set()
    a = PartitionOwnership(
        SqlTransactions(db),
        FakeLeases(board, "a"),
        "a",
        PARTITIONS,
        calls_here=lambda: calls_here,
        clock=lambda: board.now,
    )
    b = ownership(db, board, "b")
    await a.round()
    await b.round()  # B joins: A hands half over at its next round
    await a.round()
    leaving = sorted(p for p, lease in a.held.items() if lease.leaving_since is not None)
    busy, stuck = leaving[0], leaving[1]

    def placing(cur: Cursor) -> None:
        for part_no, call_id in ((busy, "going-on"), (stuck, "left-by-a-failure")):
            cur.execute(
                "INSERT INTO numbers (campaign_id, part, seq, phone, tz, state, call_id) "
                "VALUES (?, 0, 0, '+79160000001', 'UTC', 'placing', ?)",
                (100 * PARTITIONS + part_no, call_id),
            )

    db.run_sync(placing)
    calls_here.add("going-on")  # a SIP call still up in A: another must not place it again
    for _ in range(6):  # two lease times
        board.now += TTL_S / 3
        await a.round()
        await b.round()
    assert busy in a.held and stuck not in a.held  # the stuck one went after a lease time
    assert stuck in b.held
    calls_here.clear()
    board.now += TTL_S / 3
    await a.round()
    await b.round()
    assert busy not in a.held and busy in b.held
