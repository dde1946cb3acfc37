"""The stats service's own Prometheus metrics (the shared ones are zvonar_runtime.metrics)."""

from __future__ import annotations

from prometheus_client import Gauge

# --- the stats service -------------------------------------------------------------------
CAMPAIGNS = Gauge(
    "zvonar_campaigns",
    "Campaigns listed (not deleted) per status, all accounts, from the stats read model",
    ["status"],
)
