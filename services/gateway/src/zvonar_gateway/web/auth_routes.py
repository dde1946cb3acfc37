"""Sign-in with the account's API key (or the moderator's admin token), sign-out, and the
language switch."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath
from litestar.response import Redirect

from zvonar_gateway.domain.keys import same_secret
from zvonar_gateway.http.auth import client_address, failure_limit_of
from zvonar_gateway.http.routes.common import accounts_of, settings_of
from zvonar_gateway.web.i18n import LANGS
from zvonar_gateway.web.render import LANG_COOKIE, html, words_of
from zvonar_gateway.web.session import check_csrf, sign_in, sign_out

_MAX_KEY = 500


def _safe_next(value: str | None) -> str:
    """Only a path of this site: never an open redirect to elsewhere."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


@post("/sign-in", status_code=200, include_in_schema=False)
async def sign_in_post(request: Request[Any, Any, Any]) -> Response[Any]:
    await check_csrf(request)
    failures = failure_limit_of(request)
    client = client_address(request)
    failures.check(client)  # a 429 page once this address has failed too often
    form = await request.form()
    value = form.get("api_key")
    key = value.strip() if isinstance(value, str) else ""
    if key and len(key) <= _MAX_KEY:
        # The same rate limit as Bearer keys: guessing keys here is no faster than there.
        request.app.state.authenticator.check_rate(key)
        admin_token = settings_of(request).admin_token
        if admin_token and same_secret(key, admin_token):
            sign_in(request, account_id=None, admin=True)
            return Redirect("/moderation", status_code=303)
        accounts = accounts_of(request)
        account = await accounts.by_key(key)
        if account is not None:
            stamp = await accounts.key_stamp(account.id) or ""
            sign_in(request, account_id=account.id, admin=False, key_stamp=stamp)
            return Redirect("/", status_code=303)
    failures.failed(client)
    return html(request, "signin.html", status_code=401, error=words_of(request)("bad_key"))


@post("/sign-out", status_code=200, include_in_schema=False)
async def sign_out_post(request: Request[Any, Any, Any]) -> Response[Any]:
    await check_csrf(request)
    await sign_out(request)
    return Redirect("/", status_code=303)


@get("/lang/{code:str}", include_in_schema=False)
async def switch_language(request: Request[Any, Any, Any], code: FromPath[str]) -> Response[Any]:
    lang = code if code in LANGS else "ru"
    target = _safe_next(request.query_params.get("next"))
    cookie = Cookie(
        key=LANG_COOKIE,
        value=lang,
        max_age=365 * 24 * 3600,
        samesite="lax",
        httponly=True,
        secure=settings_of(request).secure_cookies,
        path="/",
    )
    return Redirect(target, status_code=303, cookies=[cookie])


HANDLERS = [sign_in_post, sign_out_post, switch_language]
