"""Refusals found outside the aggregates (missing campaign, reused Idempotency-Key)."""

from __future__ import annotations


class NotFound(Exception):
    code = "not_found"


class Conflict(Exception):
    code = "conflict"
