"""The campaign service's own Prometheus metrics (the shared ones are zvonar_runtime.metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

# --- the campaign service's relay --------------------------------------------------------
RELAY_BEHIND = Gauge(
    "zvonar_relay_behind_events",
    "Stored events the relay has not yet published: the last notification id in the event "
    "store minus the relay's position",
)
RELAY_PUBLISHED = Counter(
    "zvonar_relay_events_published_total",
    "Stored events the relay published to CAMPAIGN_EVENTS (acknowledged by JetStream)",
)
