"""Signed-out web sessions, in a NATS key-value bucket: every gateway replica sees a
sign-out at once, and it outlives a restart. Entries expire with the session's lifetime
(the bucket's TTL), so the bucket holds no more than the sessions that could still be used.
"""

from __future__ import annotations

import asyncio

import nats.errors
import structlog
from nats.aio.client import Client
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BadRequestError, BucketNotFoundError, KeyNotFoundError
from nats.js.kv import KeyValue

from zvonar_contracts.subjects import REVOKED_SESSIONS_BUCKET
from zvonar_gateway.service_layer.errors import unavailable

log = structlog.get_logger("zvonar.gateway.sessions")

_LINK_ERRORS = (asyncio.TimeoutError, TimeoutError, nats.errors.Error)
_STREAM_NAME_IN_USE = 10058


class RevokedSessions:
    """Session ids that were signed out. A failure to reach NATS is a 503: a session whose
    state is unknown is not let in."""

    def __init__(
        self,
        nc: Client,
        *,
        ttl_seconds: float,
        replicas: int = 1,
        timeout: float = 5.0,
        bucket: str = REVOKED_SESSIONS_BUCKET,
    ) -> None:
        self._nc = nc
        self._config = KeyValueConfig(
            bucket=bucket,
            description="web sessions signed out (gateway)",
            history=1,
            ttl=ttl_seconds,
            storage=StorageType.FILE,
            replicas=replicas,
        )
        self._timeout = timeout
        self._kv: KeyValue | None = None
        self._lock = asyncio.Lock()

    async def _bucket(self) -> KeyValue:
        if self._kv is not None:
            return self._kv
        async with self._lock:
            if self._kv is None:
                js = self._nc.jetstream()
                try:
                    self._kv = await js.key_value(self._config.bucket)
                except BucketNotFoundError:
                    try:
                        self._kv = await js.create_key_value(self._config)
                    except BadRequestError as exc:  # made meanwhile by another replica
                        if exc.err_code != _STREAM_NAME_IN_USE:
                            raise
                        self._kv = await js.key_value(self._config.bucket)
            return self._kv

    async def revoke(self, session_id: str) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await (await self._bucket()).put(session_id, b"1")
        except _LINK_ERRORS as exc:
            log.warning("session_store_unavailable", op="revoke", error=repr(exc))
            raise unavailable("session store") from exc

    async def is_revoked(self, session_id: str) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                await (await self._bucket()).get(session_id)
        except KeyNotFoundError:
            return False
        except _LINK_ERRORS as exc:
            log.warning("session_store_unavailable", op="check", error=repr(exc))
            raise unavailable("session store") from exc
        return True
