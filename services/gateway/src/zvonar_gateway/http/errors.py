"""Every error answer in the shape of docs/API.md: {"error": {"code", "message", "details"}}.

Litestar's own exceptions (validation, 404, 405, 413...) are mapped to that shape too, and
anything unexpected is logged and answered as a plain 500 in the same shape.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from zvonar_gateway.domain.validation import BodyInvalid
from zvonar_gateway.service_layer.errors import ApiError

log = structlog.get_logger("zvonar.gateway.http")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation",
    429: "rate_limited",
    503: "service_unavailable",
}


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return Response(body, status_code=status_code, headers=headers, media_type=MediaType.JSON)


def handle_api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[dict[str, Any]]:
    return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)


_MALFORMED = ("json is malformed", "invalid json", "malformed", "decode", "unexpected character")


def _field_of(key: Any, message: str) -> str:
    if isinstance(key, str) and key:
        return key
    match = re.search(r"at `\$\.?([^`]*)`", message)
    return match.group(1) if match and match.group(1) else "body"


def _validation_details(exc: ValidationException) -> list[dict[str, Any]]:
    details: list[dict[str, Any]] = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict):
            message = str(item.get("message", "invalid value"))
            field = _field_of(item.get("key"), message)
            details.append({"field": field, "message": message.split(" - at `")[0]})
    return details


def handle_http_exception(
    request: Request[Any, Any, Any], exc: HTTPException
) -> Response[dict[str, Any]]:
    status = exc.status_code
    headers = dict(exc.headers or {})
    if isinstance(exc, ValidationException):
        text = f"{exc.detail} {exc.extra}".lower()
        if any(marker in text for marker in _MALFORMED):
            return error_response(400, "malformed_json", "the body is not valid JSON")
        details = _validation_details(exc)
        return error_response(422, "validation", "the request breaks a rule", details)
    if status >= 500:
        log.error("http_exception", path=request.url.path, status=status, detail=exc.detail)
        if status != 503:
            return error_response(500, "internal_error", "an unexpected error; it is logged")
    code = _CODES.get(status, HTTPStatus(status).phrase.lower().replace(" ", "_"))
    message = (
        exc.detail if isinstance(exc.detail, str) and exc.detail else HTTPStatus(status).phrase
    )
    return error_response(status, code, message, headers=headers or None)


def handle_body_invalid(_: Request[Any, Any, Any], exc: BodyInvalid) -> Response[dict[str, Any]]:
    return error_response(422, "validation", "the request breaks a rule", list(exc.details))


def handle_recursion(request: Request[Any, Any, Any], exc: RecursionError) -> Response[Any]:
    """Litestar decodes typed bodies with msgspec, which recurses: JSON nested thousands deep
    exhausts the stack before any handler runs. That is bad input, not a server fault."""
    log.warning("body_nested_too_deeply", path=request.url.path)
    return error_response(400, "malformed_json", "the body is JSON nested too deeply")


def handle_invalid_utf8(request: Request[Any, Any, Any], exc: UnicodeDecodeError) -> Response[Any]:
    """Text that is not UTF-8 (in a JSON string, a form field, a part's name) is bad input:
    Litestar and msgspec raise this decoding the body before any handler runs."""
    log.warning("body_not_utf8", path=request.url.path, at=exc.start)
    return error_response(400, "invalid_utf8", "the request holds text that is not valid UTF-8")


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled_error", path=request.url.path, error=repr(exc))
    return error_response(500, "internal_error", "an unexpected error; it is logged")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ApiError: handle_api_error,
    BodyInvalid: handle_body_invalid,
    HTTPException: handle_http_exception,
    RecursionError: handle_recursion,
    UnicodeDecodeError: handle_invalid_utf8,
    Exception: handle_unexpected,
}
