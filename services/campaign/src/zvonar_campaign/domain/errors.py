"""Typed refusals raised by the aggregates; the service layer turns each into a reply code."""

from __future__ import annotations


class DomainError(Exception):
    """A command the model refuses; nothing is recorded."""

    code = "invalid_transition"


class InvalidTransition(DomainError):
    code = "invalid_transition"


class ValidationFailed(DomainError):
    code = "validation"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
