"""Who is signed in: the account of the session (looked up in the gateway's account store
each request, so a timezone change shows at once) or the moderator."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request

from zvonar_gateway.domain.account import Account
from zvonar_gateway.http.routes.common import accounts_of
from zvonar_gateway.service_layer.ports import Backend
from zvonar_gateway.web.session import session_data


class NotSignedIn(Exception):
    """The page needs a signed-in account (or the moderator): back to the sign-in page."""


async def session_account(request: Request[Any, Any, Any]) -> Account | None:
    """The session's account, while the key it was signed in with is the live one: a key
    rotated elsewhere (the API, another browser) signs this session out."""
    session = session_data(request)
    account_id = session.get("account_id")
    if not isinstance(account_id, str):
        return None
    accounts = accounts_of(request)
    stamp = await accounts.key_stamp(account_id)
    if stamp is None or not secrets.compare_digest(stamp, str(session.get("key", ""))):
        request.clear_session()
        return None
    return await accounts.by_id(account_id)


async def require_account(request: Request[Any, Any, Any]) -> Account:
    account = await session_account(request)
    if account is None:
        raise NotSignedIn()
    return account


def require_moderator(request: Request[Any, Any, Any]) -> None:
    if not session_data(request).get("admin"):
        raise NotSignedIn()


def backend_of(request: Request[Any, Any, Any]) -> Backend:
    backend: Backend = request.app.state.backend
    return backend
