"""The AsyncAPI 3.0 document of Zvonar's messaging, generated from the contracts: every
stream subject, command, query and dialer request with its payload schema (msgspec JSON
Schema). `python -m zvonar_runtime.asyncapi` prints it; docs/asyncapi/zvonar.json is its
committed copy, kept in step by a test."""

from __future__ import annotations

import json
import sys
from typing import Any

import msgspec

from zvonar_contracts import subjects
from zvonar_contracts.call_events import CALL_EVENT_TYPES
from zvonar_contracts.campaign_events import CAMPAIGN_EVENT_TYPES, STOP_LIST_EVENT_TYPES
from zvonar_contracts.commands import CAMPAIGN_COMMAND_TYPES, CommandReply
from zvonar_contracts.dialer import (
    ClockReply,
    CostQuote,
    GetClock,
    GetPlacement,
    InboundCall,
    InboundCallReply,
    PlacementReply,
    QuoteCost,
    SynthesizePreview,
    SynthesizeReply,
)
from zvonar_contracts.health import HealthReply
from zvonar_contracts.queries import STATS_QUERY_TYPES, QueryReply

DIALER_REQUESTS: tuple[tuple[type, type], ...] = (
    (GetClock, ClockReply),
    (GetPlacement, PlacementReply),
    (SynthesizePreview, SynthesizeReply),
    (QuoteCost, CostQuote),
    (InboundCall, InboundCallReply),
)


def _channels() -> list[dict[str, Any]]:
    """(address, title, message type, reply type or None, action) for every channel."""
    rows: list[dict[str, Any]] = []
    for event in CAMPAIGN_EVENT_TYPES:
        rows.append(dict(
            address=subjects.campaign_event_subject("{campaign_id}", event.__name__),
            message=event, reply=None, stream=subjects.CAMPAIGN_EVENTS_STREAM, owner="campaign",
        ))  # fmt: skip
    for event in STOP_LIST_EVENT_TYPES:
        rows.append(dict(
            address=subjects.stop_list_event_subject("{account_id}", event.__name__),
            message=event, reply=None, stream=subjects.CAMPAIGN_EVENTS_STREAM, owner="campaign",
        ))  # fmt: skip
    for event in CALL_EVENT_TYPES:
        rows.append(dict(
            address=subjects.call_event_subject("{campaign_id}", event.__name__),
            message=event, reply=None, stream=subjects.CALL_EVENTS_STREAM, owner="dialer",
        ))  # fmt: skip
    for command in CAMPAIGN_COMMAND_TYPES:
        rows.append(dict(
            address=subjects.campaign_command_subject(command.__name__),
            message=command, reply=CommandReply, stream=None, owner="campaign",
        ))  # fmt: skip
    for query in STATS_QUERY_TYPES:
        rows.append(dict(
            address=subjects.stats_query_subject(query.__name__),
            message=query, reply=QueryReply, stream=None, owner="stats",
        ))  # fmt: skip
    for request, reply in DIALER_REQUESTS:
        rows.append(dict(
            address=subjects.dialer_request_subject(request.__name__),
            message=request, reply=reply, stream=None, owner="dialer",
        ))  # fmt: skip
    for service in subjects.SERVICES:
        rows.append(dict(
            address=subjects.health_subject(service),
            message=None, reply=HealthReply, stream=None, owner=service,
        ))  # fmt: skip
    return rows


def _name(type_: Any) -> str:
    return getattr(type_, "__name__", None) or str(type_).replace(" ", "")


def build() -> dict[str, Any]:
    rows = _channels()
    payload_types: list[Any] = []
    for row in rows:
        for key in ("message", "reply"):
            if row[key] is not None and row[key] not in payload_types:
                payload_types.append(row[key])
    schemas, components = msgspec.json.schema_components(
        payload_types, ref_template="#/components/schemas/{name}"
    )
    messages: dict[str, Any] = {}
    for type_, schema in zip(payload_types, schemas, strict=True):
        name = _name(type_) if isinstance(type_, type) else f"{_name(type_)}"
        if not isinstance(type_, type):
            name = "CommandReply" if type_ is CommandReply else "QueryReply"
        messages[name] = {"name": name, "contentType": "application/json", "payload": schema}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for row in rows:
        key = row["address"].replace(".", "_").replace("{", "").replace("}", "")
        message_name = _message_name(row["message"]) if row["message"] is not None else None
        reply_name = _message_name(row["reply"]) if row["reply"] is not None else None
        channel: dict[str, Any] = {"address": row["address"], "messages": {}}
        if message_name:
            channel["messages"][message_name] = {"$ref": f"#/components/messages/{message_name}"}
        if row["stream"]:
            channel["description"] = (
                f"JetStream stream {row['stream']}, published by {row['owner']}"
            )
        else:
            channel["description"] = f"Request-reply answered by the {row['owner']} service"
        channels[key] = channel
        operation: dict[str, Any] = {
            "action": "send" if row["stream"] else "receive",
            "channel": {"$ref": f"#/channels/{key}"},
        }
        if reply_name:
            reply_key = f"{key}_reply"
            channels[reply_key] = {
                "address": None,
                "messages": {reply_name: {"$ref": f"#/components/messages/{reply_name}"}},
            }
            operation["reply"] = {"channel": {"$ref": f"#/channels/{reply_key}"}}
        operations[f"{row['owner']}_{key}"] = operation
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Zvonar messaging",
            "version": "1.0.0",
            "description": "Streams, commands, queries and requests between Zvonar services.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": components},
    }


def _message_name(type_: Any) -> str:
    if type_ is CommandReply:
        return "CommandReply"
    if type_ is QueryReply:
        return "QueryReply"
    return _name(type_)


def render() -> str:
    return json.dumps(build(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
