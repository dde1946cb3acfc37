"""The dialer's own Prometheus metrics (the shared ones are zvonar_runtime.metrics)."""

from __future__ import annotations

from typing import get_args

from prometheus_client import Counter, Gauge

from zvonar_contracts.call_events import Outcome

# --- the dialer -------------------------------------------------------------------------
CALLS_PLACED = Counter(
    "zvonar_calls_placed_total", "Calls the carrier accepted (rung), retries of recovery included"
)
CALLS_FINISHED = Counter(
    "zvonar_calls_finished_total",
    "Numbers with a final result (a CallCompleted recorded), per outcome",
    ["outcome"],
)
CALL_OUTCOMES: tuple[str, ...] = get_args(Outcome)
# One child per outcome made up front: the hot path takes it from this dict, and every
# outcome is exposed (as 0) from the start, so rate() and the dashboard see all of them.
CALLS_FINISHED_BY_OUTCOME = {outcome: CALLS_FINISHED.labels(outcome) for outcome in CALL_OUTCOMES}
CHANNELS_IN_USE = Gauge(
    "zvonar_dialer_channels_in_use",
    "Calls in progress on the carrier now (SIP: lines taken; simulated: calls being placed)",
    ["carrier"],
)
CHANNELS_LIMIT = Gauge(
    "zvonar_dialer_channels_limit",
    "Lines the carrier allows at once (DIALER_SIP_CHANNELS); the simulated carrier has none",
    ["carrier"],
)
CARRIER_UP = Gauge(
    "zvonar_carrier_up",
    "1 while the carrier places calls, 0 while the dialer takes it as down (campaigns paused)",
    ["carrier"],
)
CARRIER_FAILURES = Gauge(
    "zvonar_carrier_consecutive_failures",
    "Bursts in a row the carrier could not place (down at DIALER_CARRIER_FAILURES)",
    ["carrier"],
)
# Incremented by the webhook sender (zvonar_dialer.adapters.webhooks), one per attempt:
# delivered, failed (refused, not retried), retried (tried again later) or dropped (still
# failing 24 h after the call result).
WEBHOOK_DELIVERIES = Counter(
    "zvonar_webhook_deliveries_total",
    "Webhook post attempts by outcome: delivered, failed, retried or dropped",
    ["outcome"],
)
