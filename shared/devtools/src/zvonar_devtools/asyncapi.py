"""The AsyncAPI 3.0 document of Zvonar's messaging, generated from the contracts: every
stream subject, command, query and dialer request with its payload schema (msgspec JSON
Schema, tagged unions rewritten as `oneOf`), the parameters of its address, the headers the
services put on it, its NATS queue group, and the servers with their logins. It is valid
against the official AsyncAPI 3.0.0 JSON Schema (docs/asyncapi/schema/, checked by a test).
`python -m zvonar_devtools.asyncapi` prints it; docs/asyncapi/zvonar.json is its committed
copy, kept in step by a test."""

from __future__ import annotations

import copy
import json
import re
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
    InboundCall,
    InboundCallReply,
    ListWebhookDeliveries,
    QuoteCost,
    SynthesizePreview,
    SynthesizeReply,
    WebhookDeliveryPage,
)
from zvonar_contracts.health import HealthReply
from zvonar_contracts.queries import STATS_QUERY_TYPES, QueryReply

DIALER_REQUESTS: tuple[tuple[type, type], ...] = (
    (GetClock, ClockReply),
    (SynthesizePreview, SynthesizeReply),
    (QuoteCost, CostQuote),
    (InboundCall, InboundCallReply),
    (ListWebhookDeliveries, WebhookDeliveryPage),
)


def _channels() -> list[dict[str, Any]]:
    """For every channel: its address, message and reply types (or None), the stream that
    keeps its messages (or None: core NATS), the owning service and its queue group."""
    rows: list[dict[str, Any]] = []
    for event in CAMPAIGN_EVENT_TYPES:
        rows.append(
            dict(
                address=subjects.campaign_event_subject("{campaign_id}", event.__name__),
                message=event,
                reply=None,
                stream=subjects.CAMPAIGN_EVENTS_STREAM,
                owner="campaign",
                queue=None,
            )
        )
    for event in STOP_LIST_EVENT_TYPES:
        rows.append(
            dict(
                address=subjects.stop_list_event_subject("{account_id}", event.__name__),
                message=event,
                reply=None,
                stream=subjects.CAMPAIGN_EVENTS_STREAM,
                owner="campaign",
                queue=None,
            )
        )
    for event in CALL_EVENT_TYPES:
        rows.append(
            dict(
                address=subjects.call_event_subject("{campaign_id}", event.__name__),
                message=event,
                reply=None,
                stream=subjects.CALL_EVENTS_STREAM,
                owner="dialer",
                queue=None,
            )
        )
    for command in CAMPAIGN_COMMAND_TYPES:
        rows.append(
            dict(
                address=subjects.campaign_command_subject(command.__name__),
                message=command,
                reply=CommandReply,
                stream=None,
                owner="campaign",
                queue=subjects.CAMPAIGN_COMMANDS_QUEUE,
            )
        )
    for query in STATS_QUERY_TYPES:
        rows.append(
            dict(
                address=subjects.stats_query_subject(query.__name__),
                message=query,
                reply=QueryReply,
                stream=None,
                owner="stats",
                queue=subjects.STATS_QUERIES_QUEUE,
            )
        )
    for request, reply in DIALER_REQUESTS:
        rows.append(
            dict(
                address=subjects.dialer_request_subject(request.__name__),
                message=request,
                reply=reply,
                stream=None,
                owner="dialer",
                queue=subjects.DIALER_REQUESTS_QUEUE,
            )
        )
    for service in subjects.SERVICES:
        rows.append(
            dict(
                address=subjects.health_subject(service),
                message=None,
                reply=HealthReply,
                stream=None,
                owner=service,
                queue=subjects.health_queue(service),
            )
        )
    return rows


def _name(type_: Any) -> str:
    return getattr(type_, "__name__", None) or str(type_).replace(" ", "")


# --- Servers and logins -------------------------------------------------------------------
SERVERS: dict[str, dict[str, Any]] = {
    "kubernetes": {
        "host": "nats.zvonar.svc.cluster.local:4222",
        "protocol": "nats",
        "title": "NATS JetStream cluster in Kubernetes",
        "description": (
            "Three nodes (deploy/k8s/base/nats.yaml), streams and buckets with three "
            "replicas. Reached from inside the namespace only. Every service logs in as its "
            "own NATS user (`NATS_USER`, `NATS_PASSWORD` from its Secret) with the publish "
            "and subscribe allow-lists of deploy/nats/auth.conf."
        ),
        "security": [{"$ref": "#/components/securitySchemes/natsUser"}],
    },
    "hosts": {
        "host": "nats.zvonar.internal:4222",
        "protocol": "nats",
        "title": "NATS JetStream cluster on plain hosts",
        "description": (
            "Three nodes (deploy/nats/nats-{1,2,3}.conf): clients must speak TLS (a `tls://` "
            "URL and the CA as `NATS_TLS_CA`), then log in as their service's NATS user "
            "(deploy/nats/auth.conf). With `verify: true` the servers also ask for a client "
            "certificate (`NATS_TLS_CERT`, `NATS_TLS_KEY`)."
        ),
        "security": [
            {"$ref": "#/components/securitySchemes/natsUser"},
            {"$ref": "#/components/securitySchemes/natsClientCertificate"},
        ],
    },
    "local": {
        "host": "127.0.0.1:4222",
        "protocol": "nats",
        "title": "One NATS server on one host",
        "description": (
            "deploy/nats/nats.conf: loopback only, no TLS; the same users and permissions "
            "as the cluster (deploy/nats/auth.conf)."
        ),
        "security": [{"$ref": "#/components/securitySchemes/natsUser"}],
    },
}
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "natsUser": {
        "type": "userPassword",
        "description": (
            "One NATS user per service (campaign, moderation, dialer, stats, gateway; "
            "`zvonar` for operators), each allowed only the subjects its work needs "
            "(deploy/nats/auth.conf). A service reads `NATS_USER` and `NATS_PASSWORD` (or "
            "`NATS_CREDS`, `NATS_TOKEN`); a refused login stops it with exit status 78."
        ),
    },
    "natsClientCertificate": {
        "type": "X509",
        "description": (
            "Client certificates (`NATS_TLS_CERT`, `NATS_TLS_KEY`), asked for only when the "
            "servers' `tls` block says `verify: true`."
        ),
    },
}

# --- Headers: what the services really put on their messages ------------------------------
_CORRELATION = {
    "type": "string",
    "description": (
        "The correlation id of the work that caused the message (born with an HTTP "
        "request or a background job), bound to every log line it causes. Absent when "
        "the sender has none."
    ),
}
HEADER_SCHEMAS: dict[str, dict[str, Any]] = {
    "CampaignEventHeaders": {
        "type": "object",
        "description": "Set by the campaign service's relay on every stored event it publishes.",
        "properties": {
            subjects.MSG_ID_HEADER: {
                "type": "string",
                "pattern": "^cl-[0-9]+$",
                "description": (
                    "`cl-<position>`: JetStream drops a second copy within the stream's "
                    "duplicate window "
                    f"({subjects.CAMPAIGN_EVENTS_DUPLICATE_WINDOW_SECONDS} s), so a relay "
                    "restart republishes nothing twice."
                ),
            },
            subjects.POSITION_HEADER: {
                "type": "string",
                "pattern": "^[0-9]+$",
                "description": "The event's position in the notification log (an integer).",
            },
            subjects.CORRELATION_HEADER: _CORRELATION,
        },
        "required": [subjects.MSG_ID_HEADER, subjects.POSITION_HEADER],
    },
    "CallEventHeaders": {
        "type": "object",
        "description": "Set by the dialer's outbox publisher.",
        "properties": {
            subjects.MSG_ID_HEADER: {
                "type": "string",
                "description": (
                    "The call's id (`inbound-<hex>` for an inbound call): the stream "
                    "keeps one copy however often the outbox publishes it within its "
                    f"duplicate window ({subjects.CALL_EVENTS_DUPLICATE_WINDOW_SECONDS} s); "
                    "stats drops a later copy by its call id."
                ),
            },
        },
        "required": [subjects.MSG_ID_HEADER],
    },
    "RequestHeaders": {
        "type": "object",
        "description": "Set on commands, queries and dialer requests by whoever sends them.",
        "properties": {subjects.CORRELATION_HEADER: _CORRELATION},
    },
}
CORRELATION_IDS: dict[str, dict[str, Any]] = {
    "correlation": {
        "description": "The correlation id of the work, carried from service to service.",
        "location": f"$message.header#/{subjects.CORRELATION_HEADER}",
    }
}
PARAMETERS: dict[str, dict[str, Any]] = {
    "campaign_id": {
        "description": "The campaign's number (an integer), the same as the payload's.",
        "examples": ["1", "42"],
        "location": "$message.payload#/campaign_id",
    },
    "account_id": {
        "description": "The account's id, the same as the payload's.",
        "location": "$message.payload#/account_id",
    },
}
NATS_BINDING_VERSION = "0.1.0"


def _without_discriminators(node: Any) -> Any:
    """msgspec writes tagged unions OpenAPI's way (`anyOf` plus a `discriminator` object);
    AsyncAPI's discriminator is a property name on a base schema, which these unions do
    not have. Each variant already requires its own `kind` tag (an `enum` of one value),
    so the variants exclude each other: `oneOf`, without the discriminator object."""
    if isinstance(node, list):
        return [_without_discriminators(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _without_discriminators(value) for key, value in node.items()}
    found = out.pop("discriminator", None)
    if isinstance(found, dict):
        tag = found["propertyName"]
        out["oneOf"] = out.pop("anyOf")
        out.setdefault("description", f"Tagged by `{tag}`.")
    return out


def _parameters(address: str) -> dict[str, Any]:
    return {name: dict(PARAMETERS[name]) for name in re.findall(r"\{(\w+)\}", address)}


def _message(name: str, schema: Any, headers: str | None) -> dict[str, Any]:
    message: dict[str, Any] = {"name": name, "contentType": "application/json", "payload": schema}
    if headers is not None:
        message["headers"] = {"$ref": f"#/components/schemas/{headers}"}
        if subjects.CORRELATION_HEADER in HEADER_SCHEMAS[headers]["properties"]:
            message["correlationId"] = {"$ref": "#/components/correlationIds/correlation"}
    return message


def _headers_of(row: dict[str, Any]) -> str | None:
    if row["stream"] == subjects.CAMPAIGN_EVENTS_STREAM:
        return "CampaignEventHeaders"
    if row["stream"] == subjects.CALL_EVENTS_STREAM:
        return "CallEventHeaders"
    if row["queue"] and row["message"] is not None:
        return "RequestHeaders"
    return None  # health requests are empty, replies carry no headers


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
    headers_of_type = {row["message"]: _headers_of(row) for row in rows if row["message"]}
    messages: dict[str, Any] = {}
    for type_, schema in zip(payload_types, schemas, strict=True):
        name = _message_name(type_)
        messages[name] = _message(name, _without_discriminators(schema), headers_of_type.get(type_))
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for row in rows:
        key = row["address"].replace(".", "_").replace("{", "").replace("}", "")
        message_name = _message_name(row["message"]) if row["message"] is not None else None
        reply_name = _message_name(row["reply"]) if row["reply"] is not None else None
        channel: dict[str, Any] = {"address": row["address"], "messages": {}}
        if message_name:
            channel["messages"][message_name] = {"$ref": f"#/components/messages/{message_name}"}
        parameters = _parameters(row["address"])
        if parameters:
            channel["parameters"] = parameters
        if row["stream"]:
            channel["description"] = (
                f"JetStream stream {row['stream']}, published by {row['owner']}"
            )
            # NATS's channel binding has no fields of its own: the stream goes in an
            # extension, so a reader sees where the messages are kept.
            channel["bindings"] = {"nats": {"x-jetstream-stream": row["stream"]}}
        else:
            channel["description"] = f"Request-reply answered by the {row['owner']} service"
        channels[key] = channel
        operation: dict[str, Any] = {
            "action": "send" if row["stream"] else "receive",
            "channel": {"$ref": f"#/channels/{key}"},
        }
        if message_name:
            operation["messages"] = [{"$ref": f"#/channels/{key}/messages/{message_name}"}]
        if row["queue"]:
            # Each request goes to one instance of the queue group.
            operation["bindings"] = {
                "nats": {"queue": row["queue"], "bindingVersion": NATS_BINDING_VERSION}
            }
        if reply_name:
            reply_key = f"{key}_reply"
            channels[reply_key] = {
                "address": None,
                "description": "The requester's reply subject (its _INBOX)",
                "messages": {reply_name: {"$ref": f"#/components/messages/{reply_name}"}},
            }
            operation["reply"] = {
                "channel": {"$ref": f"#/channels/{reply_key}"},
                "messages": [{"$ref": f"#/channels/{reply_key}/messages/{reply_name}"}],
            }
        operations[f"{row['owner']}_{key}"] = operation
    # Copies of the module's tables: a caller may change the document it gets.
    return copy.deepcopy(
        {
            "asyncapi": "3.0.0",
            "info": {
                "title": "Zvonar messaging",
                "version": "1.0.0",
                "description": "Streams, commands, queries and requests between Zvonar services.",
            },
            "defaultContentType": "application/json",
            "servers": SERVERS,
            "channels": channels,
            "operations": operations,
            "components": {
                "messages": messages,
                "schemas": {**_without_discriminators(components), **HEADER_SCHEMAS},
                "securitySchemes": SECURITY_SCHEMES,
                "correlationIds": CORRELATION_IDS,
            },
        }
    )


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
