"""Where each projection stands: the last stream sequence it applied and, for the campaign
stream, the highest campaign-log position — written in the same transaction as the rows."""

from __future__ import annotations

import datetime as dt

from zvonar_runtime.db import Cursor
from zvonar_stats.adapters.schema import CALL_STREAM_KEY, Tables
from zvonar_stats.domain.checkpoint import Checkpoint
from zvonar_stats.domain.envelope import Envelope
from zvonar_stats.domain.partitions import CallsApplied

__all__ = [
    "Checkpoint",
    "call_checkpoint",
    "calls_applied",
    "park",
    "parked",
    "read_checkpoint",
    "write_checkpoint",
]


def read_checkpoint(cur: Cursor, t: Tables, stream: str, *, lock: bool = False) -> Checkpoint:
    """`lock` holds the row until the transaction ends (PostgreSQL), so two projecting
    transactions of one stream — two instances, or a restart overlapping the old process —
    take turns, and the second sees what the first applied."""
    suffix = " FOR UPDATE" if lock and cur.dialect == "postgres" else ""
    row = cur.execute(
        f"SELECT seq, position FROM {t.checkpoints} WHERE stream = ?{suffix}", (stream,)
    ).fetchone()
    return Checkpoint() if row is None else Checkpoint(seq=int(row[0]), position=int(row[1]))


def write_checkpoint(cur: Cursor, t: Tables, stream: str, checkpoint: Checkpoint) -> None:
    cur.execute(
        f"INSERT INTO {t.checkpoints} (stream, seq, position) VALUES (?, ?, ?) "
        "ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq, position = excluded.position",
        (stream, checkpoint.seq, checkpoint.position),
    )


def call_checkpoint(cur: Cursor, t: Tables, key: str, *, lock: bool = False) -> Checkpoint:
    """A call partition's checkpoint (`key`, made if missing so it can be locked): its own
    row, or where every call is applied if that is further on — the whole stream's row
    (`call`: a rebuild's, or an instance's from before partitions), or the furthest that
    every partition of some count has reached (a partitioning of another count, before
    STATS_PARTITIONS changed)."""
    if key == CALL_STREAM_KEY:
        return read_checkpoint(cur, t, key, lock=lock)
    if lock:
        cur.execute(
            f"INSERT INTO {t.checkpoints} (stream, seq, position) VALUES (?, 0, 0) "
            "ON CONFLICT (stream) DO NOTHING",
            (key,),
        )
    own = read_checkpoint(cur, t, key, lock=lock)
    floor = calls_applied(cur, t).everywhere
    return own if own.seq >= floor else Checkpoint(seq=floor)


def park(
    cur: Cursor, t: Tables, stream: str, envelope: Envelope, error: str, key: str | None = None
) -> bool:
    """Records `envelope` as not storable and moves the checkpoint (`key`, default the
    stream's) past it, in one transaction; False if the checkpoint is past it already."""
    key = key or stream
    done = (
        read_checkpoint(cur, t, key, lock=True)
        if stream != CALL_STREAM_KEY
        else call_checkpoint(cur, t, key, lock=True)
    )
    if envelope.seq <= done.seq:
        return False
    cur.execute(
        "INSERT INTO stats_parked (stream, seq, subject, error, parked_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (stream, seq) DO NOTHING",
        (
            stream,
            envelope.seq,
            envelope.subject,
            error[:2000],
            dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        ),
    )
    position = max(done.position, envelope.position)
    write_checkpoint(cur, t, key, Checkpoint(seq=envelope.seq, position=position))
    return True


def parked(cur: Cursor) -> list[tuple[str, int, str, str]]:
    """(stream, seq, subject, error) of every parked message, oldest first."""
    rows = cur.execute(
        "SELECT stream, seq, subject, error FROM stats_parked ORDER BY parked_at, seq"
    ).fetchall()
    return [(str(r[0]), int(r[1]), str(r[2]), str(r[3])) for r in rows]


def calls_applied(cur: Cursor, t: Tables) -> CallsApplied:
    """The whole call stream's checkpoint and every call partition's (`call:<i>/<count>`)."""
    partitioned: dict[int, dict[int, int]] = {}
    for stream, seq in cur.execute(
        f"SELECT stream, seq FROM {t.checkpoints} WHERE stream LIKE ?", ("call:%",)
    ).fetchall():
        index, _, count = str(stream).removeprefix("call:").partition("/")
        partitioned.setdefault(int(count), {})[int(index)] = int(seq)
    return CallsApplied(read_checkpoint(cur, t, CALL_STREAM_KEY).seq, partitioned)
