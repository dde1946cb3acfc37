"""Opening (or, first, making) a NATS key-value bucket the gateway's replicas share."""

from __future__ import annotations

import asyncio

from nats.aio.client import Client
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BadRequestError, BucketNotFoundError
from nats.js.kv import KeyValue

_STREAM_NAME_IN_USE = 10058


class SharedBucket:
    """A bucket opened once per process; made with `config` if it does not exist yet."""

    def __init__(self, nc: Client, config: KeyValueConfig) -> None:
        self._nc = nc
        self.config = config
        self._kv: KeyValue | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def latest(
        cls,
        nc: Client,
        bucket: str,
        description: str,
        *,
        ttl: float,
        storage: StorageType,
        replicas: int,
    ) -> SharedBucket:
        """A bucket keeping each key's latest value only, for `ttl` seconds."""
        config = KeyValueConfig(
            bucket=bucket,
            description=description,
            history=1,
            ttl=ttl,
            storage=storage,
            replicas=replicas,
        )
        return cls(nc, config)

    async def get(self) -> KeyValue:
        if self._kv is not None:
            return self._kv
        async with self._lock:
            if self._kv is None:
                js = self._nc.jetstream()
                name = self.config.bucket
                assert name is not None
                try:
                    self._kv = await js.key_value(name)
                except BucketNotFoundError:
                    try:
                        self._kv = await js.create_key_value(self.config)
                    except BadRequestError as exc:  # made meanwhile by another replica
                        if exc.err_code != _STREAM_NAME_IN_USE:
                            raise
                        self._kv = await js.key_value(name)
            return self._kv
