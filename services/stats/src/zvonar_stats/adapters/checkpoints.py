"""Where each projection stands: the last stream sequence it applied and, for the campaign
stream, the highest campaign-log position — written in the same transaction as the rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from zvonar_runtime.db import Cursor
from zvonar_stats.adapters.schema import Tables
from zvonar_stats.domain.envelope import Envelope


@dataclass(frozen=True)
class Checkpoint:
    seq: int = 0
    position: int = 0


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
        f"UPDATE {t.checkpoints} SET seq = ?, position = ? WHERE stream = ?",
        (checkpoint.seq, checkpoint.position, stream),
    )


def park(cur: Cursor, t: Tables, stream: str, envelope: Envelope, error: str) -> bool:
    """Records `envelope` as not storable and moves the checkpoint past it, in one
    transaction; False if the checkpoint is past it already."""
    done = read_checkpoint(cur, t, stream, lock=True)
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
    write_checkpoint(cur, t, stream, Checkpoint(seq=envelope.seq, position=position))
    return True


def parked(cur: Cursor) -> list[tuple[str, int, str, str]]:
    """(stream, seq, subject, error) of every parked message, oldest first."""
    rows = cur.execute(
        "SELECT stream, seq, subject, error FROM stats_parked ORDER BY parked_at, seq"
    ).fetchall()
    return [(str(r[0]), int(r[1]), str(r[2]), str(r[3])) for r in rows]
