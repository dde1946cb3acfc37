"""The lease partitions' side in the dialer's own database: the fencing token of each
partition, the store's id (which names its leases) and the number of partitions, fixed by
the first dialer on the database (docs/scaling.md "Dialers"). `store.SqlTx` offers the
fence functions to the service layer (service_layer.ports.Tx)."""

from __future__ import annotations

import uuid

from zvonar_runtime.db import Cursor


def _meta_get(cur: Cursor, key: str) -> str | None:
    row = cur.execute("SELECT value FROM dialer_meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def store_id(cur: Cursor) -> str:
    """This database's id, made by the first dialer that opened it."""
    cur.execute(
        "INSERT INTO dialer_meta (key, value) VALUES ('store_id', ?) ON CONFLICT (key) DO NOTHING",
        (uuid.uuid4().hex,),
    )
    value = _meta_get(cur, "store_id")
    assert value is not None
    return value


def partition_count(cur: Cursor, configured: int) -> int:
    """The partitions of this database (`configured` if this is the first dialer): every
    dialer on one database must cut the campaigns the same way."""
    cur.execute(
        "INSERT INTO dialer_meta (key, value) VALUES ('lease_partitions', ?) "
        "ON CONFLICT (key) DO NOTHING",
        (str(configured),),
    )
    value = _meta_get(cur, "lease_partitions")
    assert value is not None
    return int(value)


def take_fence(cur: Cursor, part_no: int, holder: str) -> int:
    """Record `holder` as the partition's holder under a fencing token higher than any
    before: the token."""
    cur.execute(
        "INSERT INTO partition_leases (part_no, holder, fence) VALUES (?, ?, 1) "
        "ON CONFLICT (part_no) DO UPDATE SET holder = excluded.holder, "
        "fence = partition_leases.fence + 1",
        (part_no, holder),
    )  # (no RETURNING: SQLite before 3.35 has none; the row stays locked until the commit)
    fence = fence_of(cur, part_no)
    assert fence is not None
    return fence


def fence_of(cur: Cursor, part_no: int) -> int | None:
    row = cur.execute("SELECT fence FROM partition_leases WHERE part_no = ?", (part_no,)).fetchone()
    return None if row is None else int(row[0])


def holders(cur: Cursor) -> dict[int, str]:
    """The holder each partition was last taken by."""
    rows = cur.execute("SELECT part_no, holder FROM partition_leases").fetchall()
    return {int(r[0]): str(r[1]) for r in rows}


def placing_calls(cur: Cursor, partitions: int, part_no: int) -> set[str]:
    """The call ids of the partition's campaigns that are `placing` (being dialled)."""
    modulo = "campaign_id %% ?" if cur.dialect == "postgres" else "campaign_id % ?"
    rows = cur.execute(
        f"SELECT call_id FROM numbers WHERE state = 'placing' AND {modulo} = ?",
        (partitions, part_no),
    ).fetchall()
    return {str(r[0]) for r in rows}
