"""Leases and fencing between two dialers on one PostgreSQL database and a real NATS
key-value bucket: a dialer whose lease ran out cannot write for the campaign once another
took it over, even if it still believes it holds it (paused between its check and its
write); counters are added, never written back."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import psycopg
import pytest
from nats.aio.client import Client

from zvonar_dialer.adapters import lease_fences, schema, store
from zvonar_dialer.adapters.leases import Holder, NatsLeases, this_process
from zvonar_dialer.adapters.store import SqlTransactions, SqlTx
from zvonar_dialer.service_layer.dialling import choose_callers
from zvonar_dialer.service_layer.ownership import LeaseLost, PartitionOwnership, fenced
from zvonar_dialer.service_layer.ports import Tx
from zvonar_runtime.db import Cursor, Database

from ..dialer.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

TTL_S = 1.0
PARTITIONS = 4
CAMPAIGN = 1_000_004  # partition 0
LOCK_WAITERS = (
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


@pytest.fixture
def db(pg_url: str, tmp_path: Path) -> Iterator[Database]:
    database = Database.from_settings(pg_url, tmp_path / "dialer.db", "dialer", 4)
    database.run_sync(schema.create_schema)
    yield database
    database.close()


async def dialer(nc: Client, db: Database, name: str, clock: list[float]) -> PartitionOwnership:
    store_id = db.run_sync(lease_fences.store_id)
    leases = await NatsLeases.open(nc.jetstream(), store_id, TTL_S, 1, Holder(name))
    return PartitionOwnership(SqlTransactions(db), leases, name, PARTITIONS, clock=lambda: clock[0])


def count_a_call(tx: Tx) -> None:
    tx.add_caller_usage("2026-01-01", {"+74950000001": 1})


def calls_counted(cur: Cursor) -> dict[str, int]:
    return store.caller_usage(cur, "2026-01-01", ["+74950000001"])


async def test_a_dialer_whose_lease_was_taken_over_cannot_claim_or_record(
    nc: Client, db: Database
) -> None:
    a_clock, b_clock = [0.0], [0.0]
    a = await dialer(nc, db, "dialer-a", a_clock)
    await a.round()
    assert sorted(a.held) == list(range(PARTITIONS))  # alone: every partition
    assert a.owns(CAMPAIGN)
    await SqlTransactions(db).run(fenced(a, CAMPAIGN, count_a_call, dialling=True))

    # A stops renewing (paused, cut off) but its own clock stands still, so it still
    # believes it holds the lease: only the fence can stop it now.
    b = await dialer(nc, db, "dialer-b", b_clock)

    async def b_took_it() -> bool:
        await b.round()
        return b.partition_of(CAMPAIGN) in b.held

    await wait_for(b_took_it, 10 * TTL_S, "dialer-b to take A's partition")
    assert a.owns(CAMPAIGN)  # A's local view is stale…
    for dialling in (True, False):  # …but neither a claim nor a record gets through
        with pytest.raises(LeaseLost, match="taken over"):
            await SqlTransactions(db).run(fenced(a, CAMPAIGN, count_a_call, dialling=dialling))
    await SqlTransactions(db).run(fenced(b, CAMPAIGN, count_a_call, dialling=True))
    assert await db.run(calls_counted) == {"+74950000001": 2}  # A's refused write left nothing
    assert db.run_sync(lease_fences.holders)[0] == "dialer-b"

    # Without a renewal, A's own view ends three quarters of a lease time after its last
    # one: it stops by itself even where nobody has taken over yet.
    a_clock[0] += TTL_S
    assert not a.owns(CAMPAIGN)
    assert not any(a.owns(c) for c in range(PARTITIONS))


async def test_a_handed_over_partition_takes_no_more_numbers_but_records_its_calls(
    nc: Client, db: Database
) -> None:
    a_clock, b_clock = [0.0], [0.0]
    a = await dialer(nc, db, "dialer-a", a_clock)
    await a.round()
    b = await dialer(nc, db, "dialer-b", b_clock)
    await b.round()  # B is a member now; every partition is still A's
    assert not b.held
    await a.round()  # A sees two dialers: it hands half over
    leaving = [p for p, lease in a.held.items() if lease.leaving_since is not None]
    assert len(leaving) == PARTITIONS // 2
    gone = leaving[0] + PARTITIONS  # a campaign of a partition being handed over
    assert not a.owns(gone)
    with pytest.raises(LeaseLost):
        await SqlTransactions(db).run(fenced(a, gone, count_a_call, dialling=True))
    await SqlTransactions(db).run(
        fenced(a, gone, count_a_call, dialling=False)
    )  # results still recorded

    await a.round()  # nothing in flight: released
    await b.round()
    assert sorted(a.held) == sorted(set(range(PARTITIONS)) - set(leaving))
    assert sorted(b.held) == sorted(leaving)
    holders = db.run_sync(lease_fences.holders)
    assert sorted(p for p, h in holders.items() if h == "dialer-b") == sorted(leaving)
    assert a.outbox_scope().held.isdisjoint(b.outbox_scope().held)


def test_caller_usage_is_added_by_concurrent_transactions(db: Database, pg_url: str) -> None:
    """Two claims choose callers at the same moment (two dialers, or two campaigns of one):
    the second reads the count before the first commits, and both calls are counted."""
    day, pool = "2026-01-02", ["+74950000001"]
    first_chose = threading.Event()

    def first(cur: Cursor) -> None:
        choose_callers(SqlTx(cur), pool, day, 1)
        first_chose.set()
        # Commit only once the second waits on this row: it has read the old count.
        deadline = time.monotonic() + 10
        with psycopg.connect(pg_url, autocommit=True) as watcher:
            while time.monotonic() < deadline:
                row = watcher.execute(LOCK_WAITERS).fetchone()
                if row is not None and row[0] > 0:
                    return
                time.sleep(0.005)  # polling the condition
        raise AssertionError("the second transaction never waited on the first")

    def second(cur: Cursor) -> None:
        assert first_chose.wait(10)
        choose_callers(SqlTx(cur), pool, day, 1)

    threads = [threading.Thread(target=db.run_sync, args=(work,)) for work in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert db.run_sync(lambda cur: store.caller_usage(cur, day, pool)) == {pool[0]: 2}


async def test_a_lease_is_held_by_one_and_taken_at_once_from_a_holder_known_gone(
    nc: Client, db: Database
) -> None:
    store_id = db.run_sync(lease_fences.store_id)
    js = nc.jetstream()

    async def leases_of(holder: Holder) -> NatsLeases:
        return await NatsLeases.open(js, store_id, TTL_S, 1, holder)

    a = await leases_of(this_process("dialer-a"))
    b = await leases_of(this_process("dialer-b"))
    revision = await a.acquire("p.0")
    assert revision is not None
    assert await b.acquire("p.0") is None  # held (and its holder runs: this very process)
    assert await b.renew("p.0", revision - 1) is None
    await b.release("p.0", revision - 1)  # not b's revision: nothing happens
    assert await b.acquire("p.0") is None
    renewed = await a.renew("p.0", revision)
    assert renewed is not None and renewed > revision

    # The same instance started again takes its own lease back at once.
    again = await leases_of(this_process("dialer-a"))
    retaken = await again.acquire("p.0")
    assert retaken is not None
    assert await a.renew("p.0", renewed) is None  # the earlier run has lost it

    # A process of this machine that has exited holds nothing.
    exited = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await exited.wait()
    me = this_process("dialer-c")
    ghost = await leases_of(msgspec.structs.replace(me, id="ghost", pid=exited.pid))
    assert await ghost.acquire("p.1") is not None
    assert await b.acquire("p.1") is not None
    await again.release("p.0", retaken)
    assert await b.acquire("p.0") is not None


async def test_a_stopping_dialer_releases_its_partitions_but_not_those_with_calls_in_flight(
    nc: Client, db: Database
) -> None:
    a = await dialer(nc, db, "dialer-a", [0.0])
    await a.round()
    in_flight = CAMPAIGN + 1  # partition 1

    def placing(cur: Cursor) -> None:
        cur.execute(
            "INSERT INTO numbers (campaign_id, part, seq, phone, tz, state, call_id) "
            "VALUES (?, 0, 0, '+79160000001', 'UTC', 'placing', 'c-1')",
            (in_flight,),
        )

    await db.run(placing)
    await a.release_all()
    assert sorted(a.held) == [a.partition_of(in_flight)]  # kept until it ages out
    b = await dialer(nc, db, "dialer-b", [0.0])
    await b.round()  # A has left: B's share is every partition, and the free ones are B's
    assert sorted(b.held) == sorted(set(range(PARTITIONS)) - {a.partition_of(in_flight)})
