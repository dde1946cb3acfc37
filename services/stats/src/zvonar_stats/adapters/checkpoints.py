"""Where each projection stands: the last stream sequence it applied and, for the campaign
stream, the highest campaign-log position — written in the same transaction as the rows."""

from __future__ import annotations

from dataclasses import dataclass

from zvonar_runtime.db import Cursor
from zvonar_stats.adapters.schema import Tables


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
