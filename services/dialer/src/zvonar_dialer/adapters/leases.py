"""Leases in a NATS key-value bucket: whose turn it is to dial a partition of the campaigns,
and which dialers are alive (docs/scaling.md "Dialers").

The bucket `dialer-leases` keeps one revision per key for the lease time (its max age): a
lease is a key written with a compare-and-set on its revision, renewed by writing it again,
and gone when its holder stops writing it — a dialer that dies loses its leases after the
lease time. The first dialer makes the bucket with its DIALER_LEASE_TTL_S; every dialer uses
the bucket's age limit, whatever it was configured with (they must agree). Every key of one
database starts with that store's id: dialers of two databases on one NATS never meet.

A key held by a process that is known to be gone is taken at once, without waiting for the
key to age out: the holder's own id (the same instance started again), or a process of this
machine and pid namespace whose pid no longer runs.
"""

from __future__ import annotations

import contextlib
import os
import socket

import msgspec
import structlog
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BadRequestError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.errors import NotFoundError as JsNotFound
from nats.js.kv import KeyValue

log = structlog.get_logger("zvonar.dialer.leases")
BUCKET = "dialer-leases"
_STREAM_EXISTS = 10058
_WRONG_LAST_SEQUENCE = 10071  # the lease was written by another since
# How long listing the members may take before the round gives up on it.
LIST_TIMEOUT_S = 2.0
_KEY_CHARS = frozenset("-_=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


class Holder(msgspec.Struct, frozen=True):
    """Who holds a lease: the instance id, and where its process runs (to tell it gone)."""

    id: str
    host: str = ""
    pidns: str = ""
    pid: int = 0


def this_process(instance_id: str) -> Holder:
    return Holder(instance_id, socket.gethostname(), _pid_namespace(), os.getpid())


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:  # not Linux: a holder is never known gone by its pid
        return ""


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists (not ours to signal)
        return False
    return False  # it exists (perhaps as a zombie not yet reaped: still not certainly gone)


def known_gone(current: Holder, me: Holder) -> bool:
    """Whether the process named by `current` is certainly not running any more."""
    if current.id == me.id:
        return True  # ids are unique among running dialers: this is an earlier run of mine
    if not (current.pidns and current.pid > 0):
        return False
    if (current.host, current.pidns) != (me.host, me.pidns):
        return False
    return _gone(current.pid)


def key_part(text: str) -> str:
    """`text` as one token of a key (other characters become `_`)."""
    return "".join(c if c in _KEY_CHARS else "_" for c in text) or "_"


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Holder).decode


class NatsLeases:
    """The lease port on a key-value bucket. Keys are relative to the store's prefix."""

    def __init__(self, kv: KeyValue, prefix: str, ttl_s: float, me: Holder) -> None:
        self._kv = kv
        self._prefix = prefix
        self.ttl_s = ttl_s
        self.me = me
        self._member_key = f"{prefix}.m.{key_part(me.id)}"

    @classmethod
    async def open(
        cls, js: JetStreamContext, store_id: str, ttl_s: float, replicas: int, me: Holder
    ) -> NatsLeases:
        """The bucket (made with `ttl_s` if missing); the lease time is its age limit."""
        try:
            kv = await js.key_value(BUCKET)
        except JsNotFound:
            config = KeyValueConfig(
                bucket=BUCKET,
                history=1,
                ttl=ttl_s,
                storage=StorageType.FILE,
                replicas=replicas,
                max_value_size=1024,
            )
            try:
                kv = await js.create_key_value(config)
            except BadRequestError as exc:  # made meanwhile by another dialer
                if exc.err_code != _STREAM_EXISTS:
                    raise
                kv = await js.key_value(BUCKET)
        status = await kv.status()
        age_limit = status.stream_info.config.max_age or 0.0
        if age_limit <= 0:
            raise RuntimeError(f"the key-value bucket {BUCKET} has no age limit: no lease ends")
        if abs(age_limit - ttl_s) > 1e-3:
            log.warning("leases_ttl_of_bucket", configured_s=ttl_s, bucket_s=age_limit)
        return cls(kv, f"d{key_part(store_id)}", age_limit, me)

    def _key(self, name: str) -> str:
        return f"{self._prefix}.{name}"

    # --- leases ----------------------------------------------------------------------------
    async def acquire(self, name: str) -> int | None:
        """Take the lease `name` if nobody holds it (or its holder is known gone): its new
        revision, or None if another holds it."""
        key = self._key(name)
        value = _encode(self.me)
        try:
            return await self._kv.create(key, value)
        except KeyWrongLastSequenceError:
            pass  # held: by whom?
        except KeyNotFoundError:
            # nats-py's create looks the key up after a refused write: it aged out between
            # the two. Free now; the next round takes it.
            return None
        try:
            entry = await self._kv.get(key)
        except KeyNotFoundError:
            return None  # aged out between the two: the next round takes it
        try:
            current = _decode(entry.value or b"")
        except msgspec.DecodeError:
            return None
        if not known_gone(current, self.me):
            return None
        try:
            revision = await self._kv.update(key, value, last=entry.revision)
        except KeyWrongLastSequenceError:
            return None
        log.info("lease_taken_from_gone", lease=name, holder=current.id)
        return revision

    async def renew(self, name: str, revision: int) -> int | None:
        """Write the lease again if it is still the revision this dialer wrote: the new
        revision, or None if the lease was lost (aged out, taken)."""
        try:
            return await self._kv.update(self._key(name), _encode(self.me), last=revision)
        except (KeyWrongLastSequenceError, KeyNotFoundError):
            return None

    async def release(self, name: str, revision: int) -> None:
        """Give the lease up (only if it is still this dialer's revision)."""
        try:
            await self._kv.delete(self._key(name), last=revision)
        except BadRequestError as exc:  # nats-py's delete does not name a wrong revision
            if exc.err_code != _WRONG_LAST_SEQUENCE:
                raise

    # --- members ---------------------------------------------------------------------------
    async def heartbeat(self) -> None:
        """Say this dialer is alive (for `ttl` seconds)."""
        await self._kv.put(self._member_key, _encode(self.me))

    async def leave(self) -> None:
        await self._kv.delete(self._member_key)

    async def members(self) -> set[str]:
        """The ids of the dialers alive (this one included once it has sent a heartbeat)."""
        watcher = await self._kv.watch(f"{self._prefix}.m.*", ignore_deletes=True)
        found: set[str] = set()
        try:
            while True:
                # nats-py leaves the watcher's methods unannotated
                entry = await watcher.updates(timeout=LIST_TIMEOUT_S)  # type: ignore[no-untyped-call]
                if entry is None:
                    break
                with contextlib.suppress(msgspec.DecodeError):
                    found.add(_decode(entry.value or b"").id)
                if entry.delta == 0:
                    break
        finally:
            await watcher.stop()  # type: ignore[no-untyped-call]  # unannotated in nats-py
        return found
