"""The operations of an OpenAPI document loaded by schemathesis, every one or an error."""

from __future__ import annotations

from typing import Any

from schemathesis import APIOperation
from schemathesis.core.result import Err
from schemathesis.schemas import BaseSchema


def operations_of(api: BaseSchema) -> list[APIOperation[Any, Any, Any, Any]]:
    """Each operation of `api`; an operation schemathesis could not read raises its error."""
    found: list[APIOperation[Any, Any, Any, Any]] = []
    for result in api.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        found.append(result.ok())
    return found
