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


def out_of_turn(who: str = "the stats service", *, retry_after: bool = True) -> ApiError:
    """A 503: `who` answered with a reply of another kind than the request asks for."""
    return ApiError(
        503,
        "service_unavailable",
        f"{who} answered out of turn",
        headers={"Retry-After": "1"} if retry_after else None,
    )


def no_valid_phones() -> ApiError:
    """A 422: not one of the phone numbers given is valid (a create, a quote, a stop-list)."""
    return ApiError(
        422,
        "no_valid_phones",
        "none of the phone numbers is valid",
        [{"field": "phones", "message": "no valid phone number"}],
    )
