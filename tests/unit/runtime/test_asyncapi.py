"""The AsyncAPI document lists every subject of the contracts with its payload, and the
committed copy in docs/asyncapi/ is the one the code generates."""

from __future__ import annotations

import json
from pathlib import Path

from zvonar_contracts import subjects
from zvonar_contracts.call_events import CALL_EVENT_TYPES
from zvonar_contracts.campaign_events import CAMPAIGN_EVENT_TYPES, STOP_LIST_EVENT_TYPES
from zvonar_contracts.commands import CAMPAIGN_COMMAND_TYPES
from zvonar_contracts.queries import STATS_QUERY_TYPES
from zvonar_runtime.asyncapi import DIALER_REQUESTS, build, render

COMMITTED = Path(__file__).resolve().parents[3] / "docs" / "asyncapi" / "zvonar.json"


def _addresses() -> set[str]:
    return {c["address"] for c in build()["channels"].values() if c["address"]}


def test_every_contract_subject_is_documented() -> None:
    expected = {f"campaign.events.{{campaign_id}}.{t.__name__}" for t in CAMPAIGN_EVENT_TYPES}
    expected |= {
        f"campaign.events.stoplist.{{account_id}}.{t.__name__}" for t in STOP_LIST_EVENT_TYPES
    }
    expected |= {f"call.events.{{campaign_id}}.{t.__name__}" for t in CALL_EVENT_TYPES}
    expected |= {subjects.campaign_command_subject(t.__name__) for t in CAMPAIGN_COMMAND_TYPES}
    expected |= {subjects.stats_query_subject(t.__name__) for t in STATS_QUERY_TYPES}
    expected |= {subjects.dialer_request_subject(t.__name__) for t, _ in DIALER_REQUESTS}
    expected |= {subjects.health_subject(s) for s in subjects.SERVICES}
    assert _addresses() == expected


def test_every_message_has_a_payload_schema() -> None:
    document = build()
    for name, message in document["components"]["messages"].items():
        assert message["payload"], name
    assert "CampaignCreated" in document["components"]["schemas"]


def test_committed_document_is_up_to_date() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render(), (
        "run: uv run python -m zvonar_runtime.asyncapi > docs/asyncapi/zvonar.json"
    )
    assert json.loads(render())["asyncapi"] == "3.0.0"
