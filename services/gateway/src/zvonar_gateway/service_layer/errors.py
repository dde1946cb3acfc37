"""The error a use case answers with: an HTTP status and the code and message of docs/API.md.
The API renders it as {"error": {"code", "message", "details"}}, the page as a message."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer: rendered as {"error": {"code", "message", "details"}}."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers or {}


def unavailable(what: str) -> ApiError:
    return ApiError(
        503,
        "service_unavailable",
        f"the {what} service did not answer in time; try again",
        headers={"Retry-After": "1"},
    )
