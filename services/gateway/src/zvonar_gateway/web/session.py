"""The page's session: Litestar's client-side cookie session (AES-GCM sealed, so signed
and unreadable; HttpOnly; SameSite=Lax), a CSRF token per session, and who is signed in.

The cookie secret comes from ZVONAR_SESSION_SECRET, else a random one kept under the data
dir (so sessions survive a restart). The middleware is built on the first request, when
the app's settings are known: the web handlers plug into `create_app` as plain handlers.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import Any

from litestar import Request
from litestar.middleware.session.base import SessionMiddleware
from litestar.middleware.session.client_side import ClientSideSessionBackend, CookieBackendConfig
from litestar.types import ASGIApp, Receive, Scope, Send

from zvonar_gateway.domain.keys import same_secret
from zvonar_gateway.web.form_text import refuse_form_not_utf8

SECRET_ENV = "ZVONAR_SESSION_SECRET"
SECRET_FILE = "gateway-session.key"
CSRF_FIELD = "_csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_DAYS = 14


class CsrfError(Exception):
    """A POST without the session's token: refused before anything changes."""


def session_secret(data_dir: Path, env: dict[str, str] | None = None) -> bytes:
    """32 bytes: sha256 of ZVONAR_SESSION_SECRET, else of a random file under `data_dir`."""
    given = (env if env is not None else os.environ).get(SECRET_ENV, "")
    if given.strip():
        return hashlib.sha256(given.strip().encode()).digest()
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once keep the one file the first wrote.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_hex(32))
    return hashlib.sha256(path.read_text().strip().encode()).digest()


def cookie_config(secret: bytes) -> CookieBackendConfig:
    return CookieBackendConfig(
        secret=secret,
        key="zvonar_session",
        max_age=SESSION_DAYS * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=False,  # served on localhost over plain HTTP; a TLS proxy may add Secure
    )


class WebSessionMiddleware:
    """Litestar's SessionMiddleware, built lazily from the app's settings."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._inner: SessionMiddleware[Any] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._inner is None:
            settings = scope["litestar_app"].state.settings
            backend = ClientSideSessionBackend(
                cookie_config(session_secret(Path(settings.data_dir)))
            )
            self._inner = SessionMiddleware(self.app, backend)
        await self._inner(scope, receive, send)


def csrf_token(request: Request[Any, Any, Any]) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(24)
        request.set_session({**request.session, "csrf": token})
    return token


async def check_csrf(request: Request[Any, Any, Any]) -> None:
    """Every state-changing request carries the token: htmx in a header, forms in a field
    (and a form's text must be UTF-8)."""
    await refuse_form_not_utf8(request)
    expected = request.session.get("csrf") if request.session else None
    given = request.headers.get(CSRF_HEADER)
    if not given:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not isinstance(expected, str) or not given or not same_secret(given, expected):
        raise CsrfError("missing or wrong CSRF token")


def sign_in(
    request: Request[Any, Any, Any], *, account_id: str | None, admin: bool, key_stamp: str = ""
) -> None:
    """A fresh session (and a fresh CSRF token) at sign-in: no fixation of the old one.
    `key_stamp` ties the session to the key it was opened with (see `session_account`)."""
    keep = {k: v for k, v in (request.session or {}).items() if k == "lang"}
    request.set_session(
        {**keep, "account_id": account_id, "admin": admin, "key": key_stamp,
         "csrf": secrets.token_urlsafe(24)}
    )  # fmt: skip


def sign_out(request: Request[Any, Any, Any]) -> None:
    request.clear_session()
