"""The gateway's account store on SQLite and on PostgreSQL (its own schema)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from zvonar_gateway.adapters.accounts import AccountStore
from zvonar_runtime.db import Database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AccountStore]:
    if request.param == "sqlite":
        db = Database(dialect="sqlite", sqlite_path=tmp_path / "gateway.sqlite3")
    else:
        factory: Callable[[], str] = request.getfixturevalue("pg_database_factory")
        db = Database(dialect="postgres", postgres_url=factory(), schema="gateway", workers=2)
    accounts = AccountStore(db)
    await accounts.migrate()
    await accounts.migrate()  # migrating twice is harmless (every start migrates)
    yield accounts
    await db.aclose()


async def test_a_key_finds_its_account_and_is_stored_hashed(store: AccountStore) -> None:
    account, key = await store.create("Ромашка", "Asia/Yekaterinburg")
    assert account.id.startswith("acc_")
    assert await store.by_key(key) == account
    assert await store.by_key(key + "x") is None
    assert await store.by_id(account.id) == account

    def raw_hashes(cur):  # type: ignore[no-untyped-def]
        cur.execute("SELECT key_hash FROM accounts")
        return [row[0] for row in cur.fetchall()]

    hashes = await store.db.run(raw_hashes)
    assert key not in hashes and len(hashes[0]) == 64


async def test_rotation_stops_the_old_key_at_once(store: AccountStore) -> None:
    account, old = await store.create("A", "Europe/Moscow")
    new = await store.rotate_key(account.id)
    assert new != old
    assert await store.by_key(old) is None
    assert await store.by_key(new) == account


async def test_timezone_change_and_meta(store: AccountStore) -> None:
    account, _ = await store.create("A", "Europe/Moscow")
    updated = await store.set_timezone(account.id, "Asia/Vladivostok")
    assert updated is not None and updated.timezone == "Asia/Vladivostok"
    assert await store.get_meta("demo") is None
    await store.set_meta("demo", "1")
    await store.set_meta("demo", "2")
    assert await store.get_meta("demo") == "2"
