"""Errors on the page answer HTML, never the API's JSON: a flash message for htmx
actions, an error page otherwise; no session sends the browser to the sign-in page."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import MediaType, Request, Response

from zvonar_gateway.service_layer.errors import ApiError
from zvonar_gateway.web.auth import NotSignedIn
from zvonar_gateway.web.messages import api_message, field_error
from zvonar_gateway.web.render import is_htmx, redirect, render, words_of
from zvonar_gateway.web.session import CsrfError

log = structlog.get_logger("zvonar.gateway.web")


def _answer(
    request: Request[Any, Any, Any],
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    if is_htmx(request):
        body = render("_flash.html", message=message, error=True)
    else:
        words = words_of(request)
        body = render("error.html", t=words, lang=words.lang, message=message, status=status)
    return Response(body, status_code=status, media_type=MediaType.HTML, headers=headers)


def on_not_signed_in(request: Request[Any, Any, Any], _: NotSignedIn) -> Response[Any]:
    return redirect(request, "/")


def on_csrf(request: Request[Any, Any, Any], exc: CsrfError) -> Response[str]:
    log.warning("csrf_refused", path=request.url.path)
    return _answer(request, 403, words_of(request)("csrf"))


def on_api_error(request: Request[Any, Any, Any], exc: ApiError) -> Response[str]:
    words = words_of(request)
    if exc.status_code == 503:
        message = words("unavailable")
    elif exc.status_code == 429:
        message = words("too_many_attempts").format(seconds=exc.headers.get("Retry-After", "60"))
    elif exc.status_code == 404:
        message = f"{words('not_found')}: {api_message(exc.code, exc.message, words.lang)}"
    else:
        # The API's English said in the page's language, by code, field and message.
        said = api_message(exc.code, exc.message, words.lang)
        fields = "; ".join(
            field_error(str(d.get("field")), str(d.get("message")), words.lang) for d in exc.details
        )
        message = f"{words('error')}: {said}" + (f" ({fields})" if fields else "")
    return _answer(request, exc.status_code, message, exc.headers)


def on_invalid_utf8(request: Request[Any, Any, Any], exc: UnicodeDecodeError) -> Response[str]:
    """A form whose text is not UTF-8 (Litestar decodes the fields before the handler)."""
    log.warning("form_not_utf8", path=request.url.path, at=exc.start)
    return _answer(request, 400, words_of(request)("not_utf8"))


EXCEPTION_HANDLERS: dict[Any, Any] = {
    NotSignedIn: on_not_signed_in,
    CsrfError: on_csrf,
    ApiError: on_api_error,
    UnicodeDecodeError: on_invalid_utf8,
}
