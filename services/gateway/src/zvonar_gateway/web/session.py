"""The page's session: Litestar's client-side cookie session (AES-GCM sealed, so signed
and unreadable; HttpOnly; SameSite=Lax; Secure unless the gateway serves loopback only),
a CSRF token per session, and who is signed in.

A signed-in session carries a random id, the time it was opened and, for the moderator, a
stamp of the admin token it was opened with. Every page request passes `SessionGate`: a
session signed out (its id in the NATS bucket of revoked sessions, so a copied cookie is
refused by every replica), older than its lifetime, or opened with an admin token that has
since changed is dropped before the handler sees it, and its cookie is cleared.

The cookie secret comes from ZVONAR_SESSION_SECRET (the same on every replica), else a
random one kept under the data dir (one machine only). The middleware is built on the
first request, when the app's settings are known: the web handlers plug into `create_app`
as plain handlers.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from pathlib import Path
from typing import Any

import structlog
from litestar import Request
from litestar.datastructures import State
from litestar.middleware.session.base import SessionMiddleware
from litestar.middleware.session.client_side import ClientSideSessionBackend, CookieBackendConfig
from litestar.types import ASGIApp, Empty, Receive, Scope, Send

from zvonar_gateway.adapters.sessions import RevokedSessions
from zvonar_gateway.domain.keys import same_secret
from zvonar_gateway.settings import GatewaySettings, session_secret
from zvonar_gateway.web.form_text import refuse_form_not_utf8

log = structlog.get_logger("zvonar.gateway.web")

CSRF_FIELD = "_csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_DAYS = 14
SESSION_SECONDS = SESSION_DAYS * 24 * 3600
_REVOKED_STATE_KEY = "web_revoked_sessions"


class CsrfError(Exception):
    """A POST without the session's token: refused before anything changes."""


def cookie_config(secret: bytes, *, secure: bool) -> CookieBackendConfig:
    return CookieBackendConfig(
        secret=secret,
        key="zvonar_session",
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def admin_stamp(admin_token: str) -> str:
    """What a moderator's session keeps of the admin token: a new token signs it out."""
    return hashlib.sha256(f"zvonar-admin-session:{admin_token}".encode()).hexdigest()[:32]


def revoked_sessions(state: State) -> RevokedSessions:
    """The app's one store of signed-out session ids, made on first use."""
    found = state.get(_REVOKED_STATE_KEY)
    if isinstance(found, RevokedSessions):
        return found
    settings: GatewaySettings = state.settings
    store = RevokedSessions(
        state.backend.nc, ttl_seconds=SESSION_SECONDS, replicas=settings.stream_replicas
    )
    state[_REVOKED_STATE_KEY] = store
    return store


def session_data(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The session as a dict; a cleared session (Litestar's `Empty`) is an empty one."""
    session = request.scope.get("session")
    return dict(session) if isinstance(session, dict) else {}


class SessionGate:
    """Drops a signed-in session that may no longer be used (see the module's doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session = scope.get("session")
        if isinstance(session, dict) and _identity(session):
            reason = await _unusable(session, scope["litestar_app"].state)
            if reason:
                log.info("web_session_dropped", reason=reason)
                scope["session"] = Empty
        await self.app(scope, receive, send)


def _identity(session: dict[str, Any]) -> bool:
    return bool(session.get("account_id") or session.get("admin"))


async def _unusable(session: dict[str, Any], state: State) -> str | None:
    sid = session.get("sid")
    opened = session.get("opened")
    if not isinstance(sid, str) or not sid or not isinstance(opened, int | float):
        return "no session id"  # a cookie from before session ids: sign in again
    if time.time() - opened > SESSION_SECONDS:
        return "expired"
    if session.get("admin"):
        token = state.settings.admin_token
        if not token or not same_secret(str(session.get("admin_stamp", "")), admin_stamp(token)):
            return "admin token changed"
    if await revoked_sessions(state).is_revoked(sid):
        return "signed out"
    return None


class WebSessionMiddleware:
    """Litestar's SessionMiddleware around `SessionGate`, built lazily from the app's
    settings."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._inner: SessionMiddleware[Any] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._inner is None:
            settings: GatewaySettings = scope["litestar_app"].state.settings
            secret = session_secret(Path(settings.data_dir), settings.session_secret)
            backend = ClientSideSessionBackend(
                cookie_config(secret, secure=settings.secure_cookies)
            )
            self._inner = SessionMiddleware(SessionGate(self.app), backend)
        await self._inner(scope, receive, send)


def csrf_token(request: Request[Any, Any, Any]) -> str:
    """The session's CSRF token, made on first use."""
    session = session_data(request)
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(24)
        request.set_session({**session, "csrf": token})
    return token


async def check_csrf(request: Request[Any, Any, Any]) -> None:
    """Every state-changing request carries the token: htmx in a header, forms in a field
    (and a form's text must be UTF-8)."""
    await refuse_form_not_utf8(request)
    expected = session_data(request).get("csrf")
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
    """A fresh session (a new id and CSRF token) at sign-in: no fixation of the old one.
    `key_stamp` ties the session to the key it was opened with (see `session_account`);
    a moderator's session is tied to the admin token the same way."""
    session: dict[str, Any] = {
        "account_id": account_id,
        "admin": admin,
        "key": key_stamp,
        "sid": secrets.token_urlsafe(18),
        "opened": int(time.time()),
        "csrf": secrets.token_urlsafe(24),
    }
    token = request.app.state.settings.admin_token
    if admin and token:
        session["admin_stamp"] = admin_stamp(token)
    request.set_session(session)


async def sign_out(request: Request[Any, Any, Any]) -> None:
    """The session's id goes to the revoked bucket first: a copy of the cookie kept
    elsewhere is refused from now on, on every replica."""
    sid = session_data(request).get("sid")
    if isinstance(sid, str) and sid:
        await revoked_sessions(request.app.state).revoke(sid)
        log.info("web_signed_out")
    request.clear_session()
