"""The AsyncAPI document lists every subject of the contracts with its payload, is valid
against the official AsyncAPI 3.0.0 JSON Schema (vendored in docs/asyncapi/schema/), and the
committed copy in docs/asyncapi/ is the one the code generates."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry
from referencing.jsonschema import DRAFT7, DRAFT202012

from zvonar_contracts import subjects
from zvonar_contracts.call_events import CALL_EVENT_TYPES
from zvonar_contracts.campaign_events import CAMPAIGN_EVENT_TYPES, STOP_LIST_EVENT_TYPES
from zvonar_contracts.commands import CAMPAIGN_COMMAND_TYPES
from zvonar_contracts.queries import STATS_QUERY_TYPES
from zvonar_devtools.asyncapi import DIALER_REQUESTS, build, render

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "docs" / "asyncapi" / "zvonar.json"
OFFICIAL_SCHEMA = ROOT / "docs" / "asyncapi" / "schema" / "asyncapi-3.0.0.json"
GOLDEN = ROOT / "tests" / "unit" / "contracts" / "golden"


def _addresses() -> set[str]:
    return {c["address"] for c in build()["channels"].values() if c["address"]}


@cache
def _official_validator() -> jsonschema.Draft7Validator:
    """The official schema bundles every definition it refers to under `definitions`, keyed
    by its `$id`: a registry of those resolves the `$ref`s with no network."""
    schema = json.loads(OFFICIAL_SCHEMA.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema"
    registry: Registry[Any] = Registry()
    registry = registry.with_resource(schema["$id"], DRAFT7.create_resource(schema))
    for uri, definition in schema["definitions"].items():
        registry = registry.with_resource(uri, DRAFT7.create_resource(definition))
    return jsonschema.Draft7Validator(schema, registry=registry)


def _errors(document: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in _official_validator().iter_errors(document)
    ]


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


def test_the_document_is_valid_against_the_official_asyncapi_schema() -> None:
    assert _errors(build()) == []


def test_the_official_schema_catches_what_the_old_document_had_wrong() -> None:
    # The validator is not a pass-everything: msgspec's OpenAPI-style discriminator object
    # (what the document had before) and a server without a protocol are refused.
    document = build()
    schema = document["components"]["schemas"]["CampaignOptions"]["properties"]["audio"]
    schema["discriminator"] = {"propertyName": "kind", "mapping": {}}
    del document["servers"]["kubernetes"]["protocol"]
    found = _errors(document)
    assert len(found) == 2, found
    assert any("/audio/discriminator:" in error for error in found), found
    assert any(error.startswith("servers/kubernetes:") for error in found), found


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in _refs(item)]
    return []


def test_every_reference_resolves_inside_the_document() -> None:
    document = build()
    refs = _refs(document)
    assert len(refs) > 100
    for ref in refs:
        _resolve(document, ref)


def test_every_address_parameter_is_declared_and_found_in_the_payload() -> None:
    document = build()
    with_parameters = 0
    for key, channel in document["channels"].items():
        names = re.findall(r"\{(\w+)\}", channel["address"] or "")
        assert sorted(channel.get("parameters", {})) == sorted(names), key
        with_parameters += bool(names)
        for name in names:
            # The value is the payload's field of the same name: every message has it.
            location = channel["parameters"][name]["location"]
            assert location == f"$message.payload#/{name}"
            for ref in channel["messages"].values():
                payload = _resolve(document, _resolve(document, ref["$ref"])["payload"]["$ref"])
                assert name in payload["required"], (key, name)
    assert with_parameters == (
        len(CAMPAIGN_EVENT_TYPES) + len(STOP_LIST_EVENT_TYPES) + len(CALL_EVENT_TYPES)
    )


def test_servers_speak_nats_and_say_how_to_log_in() -> None:
    document = build()
    schemes = document["components"]["securitySchemes"]
    assert document["servers"]
    for server in document["servers"].values():
        assert server["protocol"] == "nats"
        assert "auth.conf" in server["description"]
        for ref in server["security"]:
            assert _resolve(document, ref["$ref"]) in schemes.values()
    assert schemes["natsUser"]["type"] == "userPassword"


def test_request_operations_name_their_queue_group() -> None:
    operations = build()["operations"]
    queues = {
        op["channel"]["$ref"].removeprefix("#/channels/"): op["bindings"]["nats"]["queue"]
        for op in operations.values()
        if op["action"] == "receive"
    }
    assert queues["campaign_cmd_CreateCampaign"] == subjects.CAMPAIGN_COMMANDS_QUEUE
    assert queues["stats_query_ListCampaigns"] == subjects.STATS_QUERIES_QUEUE
    assert queues["dialer_req_GetClock"] == subjects.DIALER_REQUESTS_QUEUE
    assert queues["zvonar_health_dialer"] == subjects.health_queue("dialer")
    assert len(queues) == (
        len(CAMPAIGN_COMMAND_TYPES)
        + len(STATS_QUERY_TYPES)
        + len(DIALER_REQUESTS)
        + len(subjects.SERVICES)
    )


def test_messages_declare_the_headers_their_senders_set() -> None:
    document = build()
    messages = document["components"]["messages"]

    def headers(name: str) -> dict[str, Any]:
        resolved: dict[str, Any] = _resolve(document, messages[name]["headers"]["$ref"])
        return resolved

    created = headers("CampaignCreated")
    assert set(created["required"]) == {subjects.MSG_ID_HEADER, subjects.POSITION_HEADER}
    assert subjects.CORRELATION_HEADER in created["properties"]
    assert headers("StopListPhonesAdded") == created
    assert headers("CallCompleted")["required"] == [subjects.MSG_ID_HEADER]
    assert subjects.CORRELATION_HEADER in headers("CreateCampaign")["properties"]
    assert messages["CreateCampaign"]["correlationId"]["$ref"] == (
        "#/components/correlationIds/correlation"
    )
    # Replies are sent with no headers.
    assert "headers" not in messages["CommandReply"]


def _payload_validator(document: dict[str, Any], message: str) -> jsonschema.Validator:
    """A validator for one message's payload, its $refs resolved in the document."""
    resource = DRAFT202012.create_resource(document)
    registry: Registry[Any] = Registry().with_resource("urn:zvonar-asyncapi", resource)
    payload = document["components"]["messages"][message]["payload"]
    return jsonschema.Draft202012Validator(
        {"$ref": f"urn:zvonar-asyncapi{payload['$ref']}"}, registry=registry
    )


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.stem)
def test_every_golden_event_matches_its_documented_payload(path: Path) -> None:
    # The rewritten tagged unions (oneOf) still accept exactly one variant of a real event.
    document = build()
    sample = json.loads(path.read_text(encoding="utf-8"))
    _payload_validator(document, path.stem).validate(sample)


def test_a_payload_with_a_wrong_tag_is_refused() -> None:
    document = build()
    sample = json.loads((GOLDEN / "CampaignCreated.json").read_text(encoding="utf-8"))
    options = sample.get("options", sample)
    audio = options["audio"]
    audio["kind"] = "neither"
    with pytest.raises(jsonschema.ValidationError):
        _payload_validator(document, "CampaignCreated").validate(sample)


def test_committed_document_is_up_to_date() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render(), (
        "run: uv run --frozen python -m zvonar_devtools.asyncapi > docs/asyncapi/zvonar.json"
    )
    assert json.loads(render())["asyncapi"] == "3.0.0"


def test_the_committed_document_is_valid_too() -> None:
    assert _errors(json.loads(COMMITTED.read_text(encoding="utf-8"))) == []
