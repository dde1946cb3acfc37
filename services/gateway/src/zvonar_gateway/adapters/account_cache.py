"""The account store with a cache in front, kept right on every gateway replica.

Every API request looks its key up (`by_key`) and every page its session's account (`by_id`,
`key_stamp`); with the cache those are memory reads. A change to an account here (key
rotation, timezone) drops this replica's entries before it answers, and is written to the
NATS key-value bucket `gateway-accounts` (key: the account id); every replica watches the
bucket and drops the account's entries when the change arrives (milliseconds). So a rotated
key is refused at once here and within the watch's delivery on the others.

The cache is only used while the watch runs and NATS is connected: without either, every
lookup goes to the database (as without a cache), and the entries are dropped. Entries also
expire after `ttl` seconds, a backstop should a change be made behind the gateway's back.
A lookup that raced a change is not cached (a generation count taken before the read).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from typing import TypeVar

import nats.errors
import structlog
from nats.aio.client import Client
from nats.js.api import StorageType
from prometheus_client import Counter

from zvonar_gateway.adapters.accounts import AccountStore
from zvonar_gateway.adapters.kv import SharedBucket
from zvonar_gateway.domain.account import Account
from zvonar_gateway.domain.keys import hash_key
from zvonar_runtime.db import Database

log = structlog.get_logger("zvonar.gateway.accounts")

ACCOUNTS_BUCKET = "gateway-accounts"
CACHE_TTL_S = 30.0
MAX_ENTRIES = 100_000
_LINK_ERRORS = (asyncio.TimeoutError, TimeoutError, nats.errors.Error)
_V = TypeVar("_V")

ACCOUNT_LOOKUPS = Counter(
    "zvonar_gateway_account_lookups_total", "Account lookups, by where they were answered", ["by"]
)


class CachedAccountStore(AccountStore):
    def __init__(
        self,
        db: Database,
        nc: Client,
        *,
        ttl: float = CACHE_TTL_S,
        replicas: int = 1,
        timeout: float = 5.0,
        bucket: str = ACCOUNTS_BUCKET,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        super().__init__(db)
        self._nc = nc
        self._ttl = ttl
        self._timeout = timeout
        self._max_entries = max_entries
        self._bucket = SharedBucket.latest(
            nc,
            bucket,
            "accounts changed (gateway): replicas drop their cached entries",
            ttl=max(60.0, 4 * ttl),
            storage=StorageType.FILE,
            replicas=replicas,
        )
        self._watch_task: asyncio.Task[None] | None = None
        self._live = False
        self._generation = 0
        # key hash -> (account, cached at); account id -> the key hashes cached for it
        self._by_hash: dict[str, tuple[Account, float]] = {}
        self._hashes_of: dict[str, set[str]] = {}
        self._by_id: dict[str, tuple[Account, float]] = {}
        self._stamps: dict[str, tuple[str, float]] = {}

    # -- the watch -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start watching the bucket (idempotent); the cache is used once the watch runs."""
        if self._watch_task is None or self._watch_task.done():
            self._spawn()

    def _spawn(self) -> None:
        # A context of its own: not the first request's (its correlation id, say).
        self._watch_task = asyncio.create_task(
            self._watch(), name="account-cache-watch", context=contextvars.Context()
        )

    async def aclose(self) -> None:
        task, self._watch_task = self._watch_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._stop_caching()

    async def _watch(self) -> None:
        while True:
            try:
                kv = await self._bucket.get()
                watcher = await kv.watchall(meta_only=True)
                try:
                    async for entry in watcher:
                        if entry is None:  # the replay of past changes is over
                            self._live = True
                            log.info("account_cache_live")
                            continue
                        self._drop(entry.key)
                finally:
                    with contextlib.suppress(*_LINK_ERRORS):
                        await watcher.stop()  # type: ignore[no-untyped-call]  # nats-py leaves it untyped
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: no cache until it runs again
                self._stop_caching()
                log.warning("account_cache_watch_failed", error=repr(exc))
                await asyncio.sleep(1.0)

    def _stop_caching(self) -> None:
        self._live = False
        self._generation += 1
        self._by_hash.clear()
        self._hashes_of.clear()
        self._by_id.clear()
        self._stamps.clear()

    def _usable(self) -> bool:
        if self._watch_task is None:
            self._spawn()  # not started by the process (tests): started on first use
        if self._live and not self._nc.is_connected:
            # Changes may be missed while NATS is away: no cache until a new watch (made
            # once NATS is back) has replayed the changes since.
            self._stop_caching()
            if self._watch_task is not None:
                self._watch_task.cancel()
            self._spawn()
        return self._live

    def _drop(self, account_id: str) -> None:
        self._generation += 1
        for digest in self._hashes_of.pop(account_id, set()):
            self._by_hash.pop(digest, None)
        self._by_id.pop(account_id, None)
        self._stamps.pop(account_id, None)

    async def _changed(self, account_id: str) -> None:
        """Drop the account here at once, then tell every replica through the bucket."""
        self._drop(account_id)
        try:
            async with asyncio.timeout(self._timeout):
                await (await self._bucket.get()).put(account_id, str(time.time()).encode())
        except _LINK_ERRORS as exc:
            # The change is stored and its answer (a new key) must reach the client. Other
            # replicas whose NATS is away too have stopped caching; one that still caches
            # the account keeps it at most `ttl` seconds.
            log.error("account_change_not_announced", account_id=account_id, error=repr(exc))

    def _fresh(self, found: tuple[_V, float] | None) -> _V | None:
        if found is None or time.monotonic() - found[1] > self._ttl:
            return None
        return found[0]

    def _room(self) -> None:
        """Memory stays bounded: a full cache starts empty again."""
        if len(self._by_hash) + len(self._by_id) + len(self._stamps) >= self._max_entries:
            self._by_hash.clear()
            self._hashes_of.clear()
            self._by_id.clear()
            self._stamps.clear()

    # -- the lookups -----------------------------------------------------------------------

    async def by_key(self, api_key: str) -> Account | None:
        if not self._usable():
            ACCOUNT_LOOKUPS.labels("database").inc()
            return await super().by_key(api_key)
        digest = hash_key(api_key)
        account = self._fresh(self._by_hash.get(digest))
        if account is not None:
            ACCOUNT_LOOKUPS.labels("cache").inc()
            return account
        generation = self._generation
        account = await super().by_key(api_key)
        ACCOUNT_LOOKUPS.labels("database").inc()
        if account is not None and generation == self._generation:
            self._room()
            self._by_hash[digest] = (account, time.monotonic())
            self._hashes_of.setdefault(account.id, set()).add(digest)
        return account

    async def by_id(self, account_id: str) -> Account | None:
        if not self._usable():
            return await super().by_id(account_id)
        account = self._fresh(self._by_id.get(account_id))
        if account is not None:
            return account
        generation = self._generation
        account = await super().by_id(account_id)
        if account is not None and generation == self._generation:
            self._room()
            self._by_id[account_id] = (account, time.monotonic())
        return account

    async def key_stamp(self, account_id: str) -> str | None:
        if not self._usable():
            return await super().key_stamp(account_id)
        stamp = self._fresh(self._stamps.get(account_id))
        if stamp is not None:
            return stamp
        generation = self._generation
        stamp = await super().key_stamp(account_id)
        if stamp is not None and generation == self._generation:
            self._room()
            self._stamps[account_id] = (stamp, time.monotonic())
        return stamp

    # -- the changes -----------------------------------------------------------------------

    async def set_timezone(self, account_id: str, timezone: str) -> Account | None:
        updated = await super().set_timezone(account_id, timezone)
        await self._changed(account_id)
        return updated

    async def rotate_key(self, account_id: str) -> str:
        api_key = await super().rotate_key(account_id)
        await self._changed(account_id)
        return api_key
