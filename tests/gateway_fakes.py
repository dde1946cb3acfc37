"""Fakes of the gateway's ports (service_layer/ports.py) for tests that build the app through
`bootstrap` without a database or the services behind: accounts by key, a health answer."""

from __future__ import annotations

import hashlib

import msgspec

from zvonar_gateway.domain.account import Account


class FakeAccounts:
    """The Accounts port in memory: the accounts the test names, by their keys."""

    def __init__(self, by_key: dict[str, Account]) -> None:
        self.keys = dict(by_key)
        self.meta: dict[str, str] = {}

    def _key_of(self, account_id: str) -> str | None:
        return next((k for k, a in self.keys.items() if a.id == account_id), None)

    async def by_key(self, api_key: str) -> Account | None:
        return self.keys.get(api_key)

    async def migrate(self) -> None:
        return None

    async def create(self, name: str, timezone: str) -> tuple[Account, str]:
        account = Account(id=f"acc_{len(self.keys) + 1}", name=name, timezone=timezone)
        key = f"key-{account.id}"
        self.keys[key] = account
        return account, key

    async def by_id(self, account_id: str) -> Account | None:
        key = self._key_of(account_id)
        return None if key is None else self.keys[key]

    async def key_stamp(self, account_id: str) -> str | None:
        key = self._key_of(account_id)
        return None if key is None else hashlib.sha256(key.encode()).hexdigest()[:16]

    async def set_timezone(self, account_id: str, timezone: str) -> Account | None:
        key = self._key_of(account_id)
        if key is None:
            return None
        self.keys[key] = msgspec.structs.replace(self.keys[key], timezone=timezone)
        return self.keys[key]

    async def rotate_key(self, account_id: str) -> str:
        key = self._key_of(account_id)
        if key is None:
            raise KeyError(account_id)
        account = self.keys.pop(key)
        new_key = f"{key}-rotated"
        self.keys[new_key] = account
        return new_key

    async def get_meta(self, key: str) -> str | None:
        return self.meta.get(key)

    async def set_meta(self, key: str, value: str) -> None:
        self.meta[key] = value


class FakeHealth:
    """Every service answers ready."""

    async def services(self) -> dict[str, bool]:
        return {"campaign": True, "stats": True, "dialer": True, "moderation": True}
