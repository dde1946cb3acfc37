"""Leases in a NATS key-value bucket whose entries live for the lease's time (the bucket's
max age): `create` takes a free one, `update` at the held revision renews it (and fails
once another instance has taken it), and an entry not renewed expires, freeing the unit.
Live instances say so under `member.<id>` in the same bucket.

NATS permissions (deploy/nats/auth.conf, user `stats`): publish to `$KV.<bucket>.>`, create
and purge the stream `KV_<bucket>`, get its messages (direct or not), stream info."""

from __future__ import annotations

import re

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import BucketNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

MEMBER_PREFIX = "member."
_NOT_A_KEY = re.compile(r"[^-/_=.a-zA-Z0-9]")


def member_key(member: str) -> str:
    return MEMBER_PREFIX + _NOT_A_KEY.sub("_", member)


class KvLeases:
    def __init__(self, js: JetStreamContext, bucket: str, ttl: float, replicas: int = 1) -> None:
        self._js = js
        self._bucket = bucket
        self._ttl = ttl
        self._replicas = replicas
        self._kv: KeyValue | None = None

    async def open(self) -> None:
        try:
            self._kv = await self._js.key_value(self._bucket)
        except BucketNotFoundError:
            config = KeyValueConfig(
                bucket=self._bucket, history=1, ttl=self._ttl, replicas=self._replicas
            )
            self._kv = await self._js.create_key_value(config)

    @property
    def kv(self) -> KeyValue:
        if self._kv is None:
            raise RuntimeError("KvLeases.open() first")
        return self._kv

    async def attend(self, member: str) -> int:
        """Counted from the bucket's stream (one request; no consumer): one that died is
        counted until its entry ages out; one that left purged its entry."""
        await self.kv.put(member_key(member), b"alive")
        info = await self._js.stream_info(
            f"KV_{self._bucket}", subjects_filter=f"$KV.{self._bucket}.{MEMBER_PREFIX}>"
        )
        return max(1, len(info.state.subjects or {}))

    async def acquire(self, unit: str, owner: str) -> int | None:
        try:
            return await self.kv.create(unit, owner.encode())
        except KeyWrongLastSequenceError:
            return None

    async def renew(self, unit: str, owner: str, revision: int) -> int | None:
        try:
            return await self.kv.update(unit, owner.encode(), last=revision)
        except KeyWrongLastSequenceError:
            return None

    async def release(self, unit: str, revision: int) -> None:
        try:
            await self.kv.delete(unit, last=revision)
        except KeyWrongLastSequenceError:
            pass  # taken by another instance meanwhile: not ours to free

    async def leave(self, member: str) -> None:
        """Purged, not deleted: a delete marker would still be counted as a member."""
        await self._js.purge_stream(
            f"KV_{self._bucket}", subject=f"$KV.{self._bucket}.{member_key(member)}"
        )
