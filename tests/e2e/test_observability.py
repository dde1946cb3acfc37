"""Operations can follow and watch the running stack: a request's correlation id shows in the
logs of every service its work reaches, and every service answers health and metrics."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.e2e.helpers import wait_status
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
            lambda s=service: _lines_with(stack, s, request_id), 20, 0.2,
            f"the request id in the {service} log",
        )  # fmt: skip
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
