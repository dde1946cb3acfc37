"""Jinja2 templates of the page and the small helpers every route uses to answer HTML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import MediaType, Request, Response
from litestar.response import Redirect

from zvonar_contracts import limits
from zvonar_gateway.web.i18n import Words, lang_of
from zvonar_gateway.web.session import CSRF_FIELD, csrf_token, session_data

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
LANG_COOKIE = "zvonar_lang"

_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
# The contract's field limits, for the forms' maxlength attributes.
_ENV.globals["limits"] = limits


def words_of(request: Request[Any, Any, Any]) -> Words:
    return Words(lang_of(request.cookies.get(LANG_COOKIE)))


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def render(template: str, **context: Any) -> str:
    return _ENV.get_template(template).render(**context)


def html(
    request: Request[Any, Any, Any],
    template: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response[str]:
    """A page or fragment with what every template needs: words, CSRF token, who is in."""
    session = session_data(request)
    base = {
        "t": words_of(request),
        "lang": words_of(request).lang,
        "csrf": csrf_token(request),
        "csrf_field": CSRF_FIELD,
        "signed_in": bool(session.get("account_id")),
        "is_admin": bool(session.get("admin")),
        "path": request.url.path,
    }
    body = render(template, **{**base, **context})
    return Response(body, media_type=MediaType.HTML, status_code=status_code, headers=headers)


def redirect(request: Request[Any, Any, Any], to: str) -> Response[Any]:
    """A redirect that also works for htmx requests (which follow HX-Redirect, not 303)."""
    if is_htmx(request):
        return Response("", status_code=200, headers={"HX-Redirect": to})
    return Redirect(to, status_code=303)


def flash(
    request: Request[Any, Any, Any], message: str, *, error: bool = False, refresh: bool = True
) -> Response[str]:
    """The answer to an htmx action: a message for the flash area; the table reloads."""
    headers = {"HX-Trigger": "refresh-table"} if refresh else {}
    body = render("_flash.html", message=message, error=error)
    return Response(body, media_type=MediaType.HTML, headers=headers)
