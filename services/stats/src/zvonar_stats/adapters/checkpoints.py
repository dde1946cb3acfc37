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


def read_checkpoint(cur: Cursor, t: Tables, stream: str) -> Checkpoint:
    row = cur.execute(
        f"SELECT seq, position FROM {t.checkpoints} WHERE stream = ?", (stream,)
    ).fetchone()
    return Checkpoint() if row is None else Checkpoint(seq=int(row[0]), position=int(row[1]))


def write_checkpoint(cur: Cursor, t: Tables, stream: str, checkpoint: Checkpoint) -> None:
    cur.execute(
        f"UPDATE {t.checkpoints} SET seq = ?, position = ? WHERE stream = ?",
        (checkpoint.seq, checkpoint.position, stream),
    )
