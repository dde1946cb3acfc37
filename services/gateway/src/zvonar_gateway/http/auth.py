"""Bearer-key authentication with a per-key rate limit, the admin-token check, and a limit
on failed authentications per client address (admin token, the page's sign-in)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import structlog
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from zvonar_gateway.domain.account import Account
from zvonar_gateway.domain.keys import hash_key, same_secret
from zvonar_gateway.domain.ratelimit import RateLimiter
from zvonar_gateway.http.providers import ACCOUNT_STATE_KEY
from zvonar_gateway.service_layer.errors import ApiError
from zvonar_gateway.service_layer.ports import AccountLookup, RateLimits

log = structlog.get_logger("zvonar.gateway.auth")

_CHALLENGE = {"WWW-Authenticate": "Bearer"}
FAILURES_STATE_KEY = "auth_failures"


def bearer_token(request: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def unauthorized(message: str = "a valid API key is required") -> ApiError:
    return ApiError(401, "unauthorized", message, headers=_CHALLENGE)


class KeyAuthenticator:
    """Resolves the request's key to its account; over the key's rate it answers 429.

    Every key, right or wrong, passes this replica's own bucket first (no I/O: a flood of
    wrong keys reaches neither the database nor NATS past it); an account's key then takes
    its token from the bucket every replica shares (adapters/kv_ratelimit.py), so the limit
    holds across replicas. Wrong keys are limited per replica only, and leave nothing in
    NATS."""

    def __init__(self, accounts: AccountLookup, limiter: RateLimits) -> None:
        self.accounts = accounts
        self.limiter = limiter
        self.local = RateLimiter(limiter.rate, limiter.burst)

    async def authenticate(self, request: ASGIConnection[Any, Any, Any, Any]) -> Account:
        token = bearer_token(request)
        if token is None:
            raise unauthorized()
        self.check_rate(token)
        account = await self.accounts.by_key(token)
        if account is None:
            raise unauthorized("the API key is not valid")
        _refuse_over_rate(await self.limiter.acquire(hash_key(token)))
        return account

    def check_rate(self, token: str) -> None:
        # Keyed by the key's hash: wrong keys are limited too, and no key sits in memory.
        _refuse_over_rate(self.local.acquire(hash_key(token)))


def _refuse_over_rate(wait: float) -> None:
    if wait > 0:
        raise ApiError(
            429,
            "rate_limited",
            "too many requests for this API key; slow down",
            headers={"Retry-After": RateLimiter.retry_after_header(wait)},
        )


def client_address(request: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The client's address as the server saw it (behind a proxy, uvicorn's proxy headers
    with FORWARDED_ALLOW_IPS put the original client here)."""
    client = request.client
    return client.host if client is not None and client.host else "unknown"


class FailureLimit:
    """At most `per_minute` failed authentications a minute per client address (a token
    bucket of that size refilling over a minute); past that every attempt from the address,
    right or wrong, is a 429 with Retry-After until the bucket refills. Other clients are
    not touched."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be >= 1")
        self.limiter = RateLimiter(per_minute / 60.0, per_minute, clock)

    def check(self, client: str) -> None:
        wait = self.limiter.peek(client)
        if wait > 0:
            log.warning("auth_failures_limited", client=client, retry_after=round(wait, 1))
            raise ApiError(
                429,
                "rate_limited",
                "too many failed sign-ins from this address; try again later",
                headers={"Retry-After": self.limiter.retry_after_header(wait)},
            )

    def failed(self, client: str) -> None:
        self.limiter.acquire(client)
        log.info("auth_failed", client=client)


def failure_limit_of(request: ASGIConnection[Any, Any, Any, Any]) -> FailureLimit:
    limit: FailureLimit = request.app.state[FAILURES_STATE_KEY]
    return limit


async def require_admin(request: Request[Any, Any, Any], admin_token: str | None) -> None:
    """Admin endpoints: off (404) without ZVONAR_ADMIN_TOKEN, 401 without the right token,
    429 once the client has failed too often. A failure is a token that is neither the
    admin token nor any account's key: a guess. (A customer's own key sent here by mistake
    is a 401, but does not lock the address, which it may share with the moderator.)"""
    if not admin_token:
        raise ApiError(404, "not_found", "no such endpoint")
    failures = failure_limit_of(request)
    client = client_address(request)
    failures.check(client)
    token = bearer_token(request)
    if token is None or not same_secret(token, admin_token):
        authenticator: KeyAuthenticator = request.app.state.authenticator
        if token is None or await authenticator.accounts.by_key(token) is None:
            failures.failed(client)
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
