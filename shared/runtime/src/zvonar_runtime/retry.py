"""Retries with back-off: stamina (tenacity underneath), configured once for every service.

stamina's own instrumentation is switched off: it logs a warning and counts a Prometheus
sample labelled with the attempt number on every retry, which for a contended campaign
retried dozens of times a second would flood the log and grow the metric without bound.
Each caller logs what matters itself (giving up, mostly)."""

from __future__ import annotations

from stamina import retry, retry_context
from stamina.instrumentation import set_on_retry_hooks

set_on_retry_hooks(())

__all__ = ["retry", "retry_context"]
