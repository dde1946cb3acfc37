"""Correlation ids: born with an HTTP request (or a background job), carried in the
`Zvonar-Correlation-Id` NATS header, bound to every log line the work causes."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping

import structlog

from zvonar_contracts.subjects import CORRELATION_HEADER

_KEY = "correlation_id"


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def current_correlation_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get(_KEY)
    return value if isinstance(value, str) else None


def bind_correlation_id(correlation_id: str | None) -> str:
    """Bind the given id (or a new one) to the current context and return it."""
    cid = correlation_id or new_correlation_id()
    structlog.contextvars.bind_contextvars(**{_KEY: cid})
    return cid


@contextlib.contextmanager
def correlation_scope(correlation_id: str | None) -> Iterator[str]:
    cid = correlation_id or new_correlation_id()
    with structlog.contextvars.bound_contextvars(**{_KEY: cid}):
        yield cid


def correlation_from_headers(headers: Mapping[str, str] | None) -> str | None:
    if not headers:
        return None
    return headers.get(CORRELATION_HEADER)


def correlation_headers(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Headers for an outgoing message: the current correlation id plus `extra`."""
    headers = dict(extra or {})
    cid = current_correlation_id()
    if cid:
        headers.setdefault(CORRELATION_HEADER, cid)
    return headers
