"""The gateway's account store (its own SQL database): accounts, their timezones and the
sha256 of their one live API key, plus a small key-value table for start-up facts."""

from __future__ import annotations

import datetime as dt
import hashlib

from zvonar_gateway.domain.account import Account
from zvonar_gateway.domain.keys import hash_key, new_account_id, new_api_key
from zvonar_runtime.db import Cursor, Database

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS accounts (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        timezone TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


def stamp_of(key_hash: str) -> str:
    return hashlib.sha256(f"session:{key_hash}".encode()).hexdigest()[:16]


def _account(row: tuple[str, str, str] | None) -> Account | None:
    return None if row is None else Account(id=row[0], name=row[1], timezone=row[2])


class AccountStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def migrate(self) -> None:
        def work(cur: Cursor) -> None:
            for statement in _SCHEMA:
                cur.execute(statement)

        await self.db.run(work)

    async def create(self, name: str, timezone: str) -> tuple[Account, str]:
        """A new account and its API key (the only time the key is seen in clear)."""
        account = Account(id=new_account_id(), name=name, timezone=timezone)
        api_key = new_api_key()
        created = dt.datetime.now(dt.UTC).isoformat()

        def work(cur: Cursor) -> None:
            cur.execute(
                "INSERT INTO accounts (id, name, timezone, key_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (account.id, account.name, account.timezone, hash_key(api_key), created),
            )

        await self.db.run(work)
        return account, api_key

    async def by_key(self, api_key: str) -> Account | None:
        digest = hash_key(api_key)

        def work(cur: Cursor) -> Account | None:
            cur.execute("SELECT id, name, timezone FROM accounts WHERE key_hash = ?", (digest,))
            return _account(cur.fetchone())

        return await self.db.run(work)

    async def by_id(self, account_id: str) -> Account | None:
        def work(cur: Cursor) -> Account | None:
            cur.execute("SELECT id, name, timezone FROM accounts WHERE id = ?", (account_id,))
            return _account(cur.fetchone())

        return await self.db.run(work)

    async def key_stamp(self, account_id: str) -> str | None:
        """A short fingerprint of the account's live key (None: no such account): a web
        session signed in with a key carries it, so rotating the key ends other sessions."""

        def work(cur: Cursor) -> str | None:
            cur.execute("SELECT key_hash FROM accounts WHERE id = ?", (account_id,))
            row = cur.fetchone()
            return None if row is None else stamp_of(str(row[0]))

        return await self.db.run(work)

    async def set_timezone(self, account_id: str, timezone: str) -> Account | None:
        def work(cur: Cursor) -> Account | None:
            cur.execute("UPDATE accounts SET timezone = ? WHERE id = ?", (timezone, account_id))
            cur.execute("SELECT id, name, timezone FROM accounts WHERE id = ?", (account_id,))
            return _account(cur.fetchone())

        return await self.db.run(work)

    async def rotate_key(self, account_id: str) -> str:
        """Replace the account's key; the old one stops working with this commit."""
        api_key = new_api_key()

        def work(cur: Cursor) -> None:
            cur.execute(
                "UPDATE accounts SET key_hash = ? WHERE id = ?", (hash_key(api_key), account_id)
            )

        await self.db.run(work)
        return api_key

    async def get_meta(self, key: str) -> str | None:
        def work(cur: Cursor) -> str | None:
            cur.execute("SELECT value FROM meta WHERE key = ?", (key,))
            row = cur.fetchone()
            return None if row is None else str(row[0])

        return await self.db.run(work)

    async def set_meta(self, key: str, value: str) -> None:
        def work(cur: Cursor) -> None:
            cur.execute("DELETE FROM meta WHERE key = ?", (key,))
            cur.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))

        await self.db.run(work)
