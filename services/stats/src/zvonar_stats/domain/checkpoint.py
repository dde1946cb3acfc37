"""Where a projection stands: the last stream sequence it applied and, for the campaign
stream, the highest campaign-log position."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Checkpoint:
    seq: int = 0
    position: int = 0
