"""deploy/observability/: the alert rules have the structure Prometheus loads (groups of
rules with alert, expr, for, labels, annotations; promtool is not installed here, so a
structure check), the dashboard is a Grafana dashboard whose panels each query something,
both cover what a platform team watches, and the scrape example loads the rules file.
Whether every metric they name exists: tests/e2e/test_observability.py, on the stack."""

from __future__ import annotations

import re

import yaml

from tests.observability import (
    ALERTS,
    SCRAPE_CONFIG,
    alert_exprs,
    alert_rules,
    dashboard,
    dashboard_exprs,
    metric_names,
)

DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")
SEVERITIES = {"critical", "warning", "info"}
METRICS_OR_UP = re.compile(r"\bzvonar_[a-z_]+|\bup\{")
# What the platform team is told to expect (deploy/README.md, "Metrics").
REQUIRED_ALERTS = {
    "ZvonarServiceDown",
    "ZvonarConsumerLagGrowing",
    "ZvonarMessagesParked",
    "ZvonarRelayBehind",
    "ZvonarCarrierDown",
    "ZvonarWebhookFailures",
    "ZvonarHttp5xx",
}
REQUIRED_ON_DASHBOARD = {
    "zvonar_calls_placed_total",
    "zvonar_calls_finished_total",
    "zvonar_dialer_channels_in_use",
    "zvonar_dialer_channels_limit",
    "zvonar_consumer_lag_messages",
    "zvonar_messages_parked_total",
    "zvonar_relay_behind_events",
    "zvonar_webhook_deliveries_total",
    "zvonar_carrier_up",
    "zvonar_http_request_duration_seconds_bucket",
    "zvonar_http_requests_total",
}


def _balanced(expr: str) -> bool:
    depth = {"(": 0, "[": 0, "{": 0}
    closing = {")": "(", "]": "[", "}": "{"}
    for char in re.sub(r'"[^"]*"', '""', expr):  # brackets inside label values do not count
        if char in depth:
            depth[char] += 1
        elif char in closing:
            depth[closing[char]] -= 1
            if depth[closing[char]] < 0:
                return False
    return not any(depth.values())


def test_alert_rules_have_the_structure_prometheus_loads() -> None:
    rules = alert_rules()
    assert set(rules) == {"groups"}
    names: list[str] = []
    group_names = [group["name"] for group in rules["groups"]]
    assert len(group_names) == len(set(group_names)), "group names must be unique"
    for group in rules["groups"]:
        assert set(group) <= {"name", "interval", "rules"}, group["name"]
        assert group["rules"], group["name"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
            assert re.fullmatch(r"Zvonar[A-Za-z0-9]+", rule["alert"]), rule
            names.append(rule["alert"])
            assert isinstance(rule["expr"], str) and rule["expr"].strip(), rule["alert"]
            assert _balanced(rule["expr"]), rule["alert"]
            assert METRICS_OR_UP.search(rule["expr"]), rule["alert"]
            if "for" in rule:
                assert DURATION.match(rule["for"]), rule["alert"]
            assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
            assert all(isinstance(v, str) for v in rule["labels"].values()), rule["alert"]
            assert rule["annotations"]["summary"].strip(), rule["alert"]
            assert rule["annotations"]["description"].strip(), rule["alert"]
    assert len(names) == len(set(names)), "alert names must be unique"
    assert REQUIRED_ALERTS <= set(names), REQUIRED_ALERTS - set(names)


def test_the_dashboard_is_a_grafana_dashboard_that_shows_what_is_watched() -> None:
    board = dashboard()
    assert board["uid"] and board["title"] and isinstance(board["schemaVersion"], int)
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in board["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip() and _balanced(target["expr"]), panel["title"]
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, panel["title"]
    shown = metric_names(dashboard_exprs())
    assert REQUIRED_ON_DASHBOARD <= shown, REQUIRED_ON_DASHBOARD - shown
    assert any("up{" in expr for expr in dashboard_exprs())


def test_the_scrape_example_loads_the_rules_and_scrapes_every_service() -> None:
    config = yaml.safe_load(SCRAPE_CONFIG.read_text())
    assert config["rule_files"] == [ALERTS.name]
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    for service in ("campaign", "moderation", "dialer", "stats", "gateway", "campaign-relay"):
        assert f"zvonar-{service}" in jobs
    # The alerts' `up{job=~"zvonar-.*"}` matches every job named here.
    assert all(job.startswith("zvonar-") for job in jobs)
    assert metric_names(alert_exprs())  # the rules watch Zvonar's own metrics
