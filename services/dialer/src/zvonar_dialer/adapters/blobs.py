"""Blobs in the JetStream object store: phone bases, messages, recordings."""

from __future__ import annotations

import asyncio

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from nats.js.object_store import ObjectStore

# nats-py's object-store `get` waits for the object's chunks without a limit: a chunk that
# never comes (the object deleted meanwhile, a consumer lost) would hold its caller — the
# scheduler's pass — for ever. Past this, the read or write fails and is tried again later.
BLOB_TIMEOUT_S = 30.0


class BlobNotFound(LookupError):
    """No such object (or bucket): unlike a broken connection, waiting will not help."""


class NatsBlobs:
    def __init__(self, js: JetStreamContext) -> None:
        self._js = js
        self._buckets: dict[str, ObjectStore] = {}

    async def _bucket(self, bucket: str) -> ObjectStore:
        if bucket not in self._buckets:
            self._buckets[bucket] = await self._js.object_store(bucket)
        return self._buckets[bucket]

    async def get(self, bucket: str, name: str) -> bytes:
        try:
            async with asyncio.timeout(BLOB_TIMEOUT_S):
                result = await (await self._bucket(bucket)).get(name)
        except NotFoundError as exc:
            raise BlobNotFound(f"{bucket}/{name}") from exc
        return result.data or b""

    async def put(self, bucket: str, name: str, data: bytes) -> None:
        async with asyncio.timeout(BLOB_TIMEOUT_S):
            await (await self._bucket(bucket)).put(name, data)
