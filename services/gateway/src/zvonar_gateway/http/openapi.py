"""OpenAPI pieces Litestar cannot infer: request bodies of handlers that read the body
themselves (the create endpoint takes JSON or multipart on one path)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody


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
