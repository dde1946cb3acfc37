"""Operations can follow and watch the running stack: a request's correlation id shows in the
logs of every service its work reaches, every service answers health and metrics, and every
metric the Grafana dashboard and the alert rules of deploy/observability/ name is exposed by
some service — with the call counters moving once calls are made."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.helpers import create, wait_status
from tests.observability import (
    alert_exprs,
    dashboard_exprs,
    exposed_names,
    metric_names,
    sample_values,
)
from tests.stack import Stack, wait_for
from zvonar_contracts.subjects import SERVICES

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


def _lines_with(stack: Stack, service: str, needle: str) -> list[dict[str, object]]:
    found = []
    for raw in stack.log_path(service).read_text(errors="replace").splitlines():
        if needle in raw:
            try:
                found.append(json.loads(raw))
            except json.JSONDecodeError:
                continue
    return found


def test_a_request_id_travels_from_the_gateway_log_to_the_stats_log(stack: Stack) -> None:
    client = stack.new_account("Трассировка")
    request_id = f"trace-{uuid.uuid4().hex}"
    response = client.post(
        "/api/v1/campaigns",
        json={"name": "След", "phones": ["+79161234560"], "audio": {"kind": "tts", "text": "Да"}},
        headers={"X-Request-Id": request_id},
    )
    assert response.status_code == 201, response.text
    assert response.headers["x-request-id"] == request_id
    wait_status(client, response.json()["id"], "finished")
    for service in ("gateway", "campaign", "stats"):
        lines = wait_for(
            functools.partial(_lines_with, stack, service, request_id),
            20,
            0.2,
            f"the request id in the {service} log",
        )
        assert all(line.get("correlation_id") == request_id for line in lines), service


def test_every_service_answers_health_readiness_and_metrics(stack: Stack) -> None:
    for service in SERVICES:
        base = f"http://127.0.0.1:{stack.monitor_ports[service]}"
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200, service
        assert httpx.get(f"{base}/readyz", timeout=5).status_code == 200, service
        metrics = httpx.get(f"{base}/metrics", timeout=5)
        assert metrics.status_code == 200, service
        assert "zvonar_" in metrics.text or "python_info" in metrics.text
    gateway_metrics = httpx.get(f"{stack.base_url}/metrics", timeout=5).text
    assert "zvonar_http_requests_total" in gateway_metrics
    assert httpx.get(f"{stack.base_url}/healthz", timeout=5).status_code == 200


def _scrape(stack: Stack, service: str) -> str:
    response = httpx.get(f"http://127.0.0.1:{stack.monitor_ports[service]}/metrics", timeout=10)
    assert response.status_code == 200, service
    return response.text


def _total(text: str, name: str, match: Callable[[dict[str, str]], bool] = lambda _: True) -> float:
    return sum(value for labels, value in sample_values(text, name).items() if match(dict(labels)))


def test_every_metric_of_the_dashboard_and_the_alerts_is_exposed(stack: Stack) -> None:
    before = _scrape(stack, "dialer")
    client = stack.new_account("Метрики")
    # Last digits: 1 answered, 5 answered, 6 no answer, 7 no answer, 0 answered.
    phones = ["+79161230001", "+79161230005", "+79161230006", "+79161230007", "+79161230010"]
    campaign = create(client, name="Метрики", phones=phones)
    wait_status(client, campaign["id"], "finished")

    dialer = _scrape(stack, "dialer")
    placed = _total(dialer, "zvonar_calls_placed_total") - _total(
        before, "zvonar_calls_placed_total"
    )
    assert placed >= len(phones)

    def finished(text: str, outcome: str) -> float:
        return _total(
            text, "zvonar_calls_finished_total", lambda labels: labels["outcome"] == outcome
        )

    assert finished(dialer, "answered") - finished(before, "answered") >= 3
    assert finished(dialer, "no_answer") - finished(before, "no_answer") >= 2
    assert _total(dialer, "zvonar_carrier_up") == 1.0
    assert sample_values(dialer, "zvonar_dialer_channels_in_use")

    # The consumer-lag gauges are refreshed every few seconds, for each durable consumer.
    expected_consumers = {
        "dialer": {("CAMPAIGN_EVENTS", "dialer-campaign-events")},
        "moderation": {("CAMPAIGN_EVENTS", "moderation-created")},
        "stats": {
            ("CAMPAIGN_EVENTS", "stats-campaign-events"),
            ("CALL_EVENTS", "stats-call-events-p0of1"),  # one partition by default
        },
    }
    for service, consumers in expected_consumers.items():

        def lag_series(s: str = service) -> set[tuple[str, str]]:
            series = sample_values(_scrape(stack, s), "zvonar_consumer_lag_messages")
            return {(dict(labels)["stream"], dict(labels)["consumer"]) for labels in series}

        def gauges_present(s: str = service, c: set[tuple[str, str]] = consumers) -> bool:
            return c <= lag_series(s)

        wait_for(
            gauges_present,
            60,
            0.5,
            f"the consumer-lag gauges of {service}",
        )
    wait_for(
        lambda: _total(_scrape(stack, "campaign"), "zvonar_relay_behind_events") == 0,
        30,
        0.2,
        "the relay to have caught up",
    )

    def finished_campaigns() -> float:
        return _total(
            _scrape(stack, "stats"),
            "zvonar_campaigns",
            lambda labels: labels["status"] == "finished",
        )

    wait_for(lambda: finished_campaigns() >= 1, 60, 0.5, "a finished campaign in the gauge")

    exposed: set[str] = set()
    for service in SERVICES:
        exposed |= exposed_names(_scrape(stack, service))
    exposed |= exposed_names(httpx.get(f"{stack.base_url}/metrics", timeout=10).text)
    referenced = metric_names(dashboard_exprs()) | metric_names(alert_exprs())
    assert len(referenced) >= 15
    missing = sorted(referenced - exposed)
    assert not missing, f"named by the dashboard or the alerts, exposed by no service: {missing}"
    # No label repeats the service: the scrape's `job` says which one a series comes from.
    for service in SERVICES:
        for family in text_string_to_metric_families(_scrape(stack, service)):
            if family.name.startswith("zvonar_"):
                assert all("service" not in sample.labels for sample in family.samples), (
                    service,
                    family.name,
                )
