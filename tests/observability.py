"""The files of deploy/observability/ as tests read them: every PromQL expression of the
Grafana dashboard and of the alert rules, the metric names in them, and the metric names a
/metrics exposition declares."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

OBSERVABILITY = Path(__file__).resolve().parents[1] / "deploy" / "observability"
DASHBOARD = OBSERVABILITY / "grafana-dashboard.json"
ALERTS = OBSERVABILITY / "prometheus-alerts.yml"
SCRAPE_CONFIG = OBSERVABILITY / "prometheus.yml"
# A Zvonar metric name in PromQL (job names are "zvonar-…", with a dash: not matched).
METRIC_NAME = re.compile(r"\bzvonar_[a-z0-9_]*[a-z0-9]")
_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "counter": ("_total",)}


def _exprs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            else:
                yield from _exprs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _exprs(item)


def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def alert_rules() -> dict[str, Any]:
    return dict(yaml.safe_load(ALERTS.read_text()))


def dashboard_exprs() -> list[str]:
    return list(_exprs(dashboard()["panels"]))


def alert_exprs() -> list[str]:
    return [rule["expr"] for group in alert_rules()["groups"] for rule in group["rules"]]


def metric_names(exprs: list[str]) -> set[str]:
    return {name for expr in exprs for name in METRIC_NAME.findall(expr)}


def exposed_names(exposition: str) -> set[str]:
    """Every series name the exposition declares or has samples of: a counter `x` as
    `x_total`, a histogram's `_bucket`, `_sum` and `_count` (declared with no sample yet
    counts too: a labelled metric nothing has happened to, as webhook deliveries)."""
    names: set[str] = set()
    for family in text_string_to_metric_families(exposition):
        names.add(family.name)
        names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names


def sample_values(exposition: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of one series name: {sorted labels: value}."""
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == name
    }
