"""Bearer-key authentication with a per-key rate limit, and the admin-token check."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from zvonar_gateway.domain.keys import hash_key, same_secret
from zvonar_gateway.domain.ratelimit import RateLimiter
from zvonar_gateway.http.deps import ACCOUNT_STATE_KEY, Account, AccountLookup, ApiError

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def bearer_token(request: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def unauthorized(message: str = "a valid API key is required") -> ApiError:
    return ApiError(401, "unauthorized", message, headers=_CHALLENGE)


class KeyAuthenticator:
    """Resolves the request's key to its account; over the key's rate it answers 429."""

    def __init__(self, accounts: AccountLookup, limiter: RateLimiter) -> None:
        self.accounts = accounts
        self.limiter = limiter

    async def authenticate(self, request: ASGIConnection[Any, Any, Any, Any]) -> Account:
        token = bearer_token(request)
        if token is None:
            raise unauthorized()
        self.check_rate(token)
        account = await self.accounts.by_key(token)
        if account is None:
            raise unauthorized("the API key is not valid")
        return account

    def check_rate(self, token: str) -> None:
        # Keyed by the key's hash: wrong keys are limited too, and no key sits in memory.
        wait = self.limiter.acquire(hash_key(token))
        if wait > 0:
            raise ApiError(
                429,
                "rate_limited",
                "too many requests for this API key; slow down",
                headers={"Retry-After": self.limiter.retry_after_header(wait)},
            )


def require_admin(request: Request[Any, Any, Any], admin_token: str | None) -> None:
    """Admin endpoints: off (404) without ZVONAR_ADMIN_TOKEN, 401 without the right token."""
    if not admin_token:
        raise ApiError(404, "not_found", "no such endpoint")
    token = bearer_token(request)
    if token is None or not same_secret(token, admin_token):
        raise unauthorized("the admin token is required")


async def key_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Every handler that takes the `account` dependency needs a valid key, checked before
    its body is read: no key is a 401 even with a malformed or huge body."""
    if not connection.url.path.startswith("/api/"):
        return  # the web page has its own sign-in (session cookie)
    if "account" not in handler.parsed_fn_signature.parameters:
        return
    authenticator: KeyAuthenticator = connection.app.state.authenticator
    account = await authenticator.authenticate(connection)
    connection.scope.setdefault("state", {})[ACCOUNT_STATE_KEY] = account
