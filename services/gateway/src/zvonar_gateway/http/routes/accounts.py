"""Accounts: the admin creates them; an account reads and patches its profile and rotates
its key (the old key stops at once)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from zvonar_gateway.domain.account import Account
from zvonar_gateway.domain.timezones import real_zones
from zvonar_gateway.http.auth import require_admin
from zvonar_gateway.http.routes.common import accounts_of, settings_of
from zvonar_gateway.service_layer.errors import ApiError


class NewAccount(msgspec.Struct, forbid_unknown_fields=True):
    # No NUL: PostgreSQL text cannot hold one (see domain/storable.py).
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern="^[^\x00]*$")]
    timezone: str = "Europe/Moscow"


class AccountCreated(msgspec.Struct):
    id: str
    name: str
    timezone: str
    api_key: str


class ProfilePatch(msgspec.Struct, forbid_unknown_fields=True):
    timezone: str


class Profile(msgspec.Struct):
    id: str
    name: str
    timezone: str


class NewKey(msgspec.Struct):
    api_key: str


def check_timezone(name: str) -> str:
    # Real zones only: no "localtime", "Factory" or legacy aliases (domain/timezones.py).
    if name not in real_zones():
        raise ApiError(
            422,
            "validation",
            f"unknown timezone {name!r}",
            [{"field": "timezone", "message": "an IANA timezone such as Europe/Moscow"}],
        )
    return name


def profile(account: NamedDependency[Account]) -> Profile:
    return Profile(id=account.id, name=account.name, timezone=account.timezone)


@post("/api/v1/accounts", status_code=201, tags=["accounts"], summary="Create an account (admin)")
async def create_account(
    request: Request[Any, Any, Any], data: JSONBody[NewAccount]
) -> AccountCreated:
    await require_admin(request, settings_of(request).admin_token)
    if not data.name.strip():
        raise ApiError(
            422, "validation", "the name is empty", [{"field": "name", "message": "required"}]
        )
    check_timezone(data.timezone)
    account, api_key = await accounts_of(request).create(data.name.strip(), data.timezone)
    return AccountCreated(
        id=account.id, name=account.name, timezone=account.timezone, api_key=api_key
    )


@get("/api/v1/me", tags=["accounts"], summary="The account of the key")
async def get_me(account: NamedDependency[Account]) -> Profile:
    return profile(account)


@patch("/api/v1/me", tags=["accounts"], summary="Change the account's timezone")
async def patch_me(
    request: Request[Any, Any, Any], account: NamedDependency[Account], data: JSONBody[ProfilePatch]
) -> Profile:
    check_timezone(data.timezone)
    updated = await accounts_of(request).set_timezone(account.id, data.timezone)
    return profile(updated or account)


@post("/api/v1/me/keys/rotate", status_code=200, tags=["accounts"], summary="A new API key")
async def rotate_key(request: Request[Any, Any, Any], account: NamedDependency[Account]) -> NewKey:
    return NewKey(api_key=await accounts_of(request).rotate_key(account.id))


HANDLERS = [create_account, get_me, patch_me, rotate_key]
