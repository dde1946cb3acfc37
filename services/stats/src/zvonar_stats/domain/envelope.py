"""A message of a stream as the projections see it: its stream sequence, its payload and,
for campaign events, its position in the campaign service's log."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Envelope:
    seq: int
    data: bytes
    position: int = 0
    subject: str = ""
    correlation_id: str | None = None
