"""OpenAPI pieces Litestar cannot infer: request bodies of handlers that read the body
themselves (the create endpoint takes JSON or multipart on one path)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Litestar
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, Operation, RequestBody


def inline_schema(type_: Any) -> dict[str, Any]:
    """msgspec's JSON schema of `type_` with every `$ref` resolved in place."""
    root = msgspec.json.schema(type_)
    defs: dict[str, Any] = root.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items() if k != "discriminator"}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(root)
    return resolved


def body_operation(type_: Any, *, multipart: dict[str, Any] | None = None) -> type[Operation]:
    """An Operation class whose request body is `type_` as JSON (and optionally multipart)."""
    content = {"application/json": OpenAPIMediaType(schema=inline_schema(type_))}  # type: ignore[arg-type]
    if multipart is not None:
        content["multipart/form-data"] = OpenAPIMediaType(schema=multipart)  # type: ignore[arg-type]

    @dataclass
    class BodyOperation(Operation):
        def __post_init__(self) -> None:
            self.request_body = RequestBody(content=content, required=True)

    return BodyOperation


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "array", "items": {"type": "object"}},
            },
        }
    },
}


def _error_response(description: str) -> OpenAPIResponse:
    media = OpenAPIMediaType(schema=ERROR_SCHEMA)  # type: ignore[arg-type]
    return OpenAPIResponse(description=description, content={"application/json": media})


def document_errors(app: Litestar) -> None:
    """Every operation may answer the error shape with a 4xx, or 503 when a service behind
    does not answer; Litestar's own 400 schema is replaced by ours (we render it so)."""
    schema = app.openapi_schema
    for item in (schema.paths or {}).values():
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(item, method, None)
            if operation is None:
                continue
            responses = operation.responses if operation.responses is not None else {}
            responses["400"] = _error_response("malformed request")
            responses["4XX"] = _error_response("the request is refused: see error.code")
            responses["503"] = _error_response("a service behind the gateway did not answer")
            operation.responses = responses
