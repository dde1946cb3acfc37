"""One active relay at a time: a lease in NATS KV that a standby takes over when it expires.

The lease is the key `<name>` (the relay's tracking name) in the bucket `relay-lease`, whose
entries live `ttl` seconds after their last write (the bucket's max age; history 1). The
holder's id is the value. A relay:

- acquires it with `create` (written only if the key is absent or expired): the one whose
  create succeeds is active, every other one is a standby and tries again every `ttl / 10`;
- renews it with a revision-checked `update` (the revision it last wrote): this is the fence.
  The relay renews before each batch it publishes and, while idle, every `ttl / 3`. An update
  refused because someone else wrote the key since (it expired and a standby took it) means
  the lease is lost: `LeaseLost`, and the relay goes back to waiting without publishing;
- deletes it on a clean stop (revision-checked too), so a standby takes over at once.

A holder killed with SIGKILL renews nothing: its entry expires after at most `ttl` and a
standby's next create succeeds. Whatever the old holder published after its last recorded
position is published again by the new one under the same `Nats-Msg-Id` (`cl-<position>`),
and the stream's duplicate window drops the copies.

`zvonar_relay_active` (1 while this process holds the lease) and the `relay_active` /
`relay_standby` / `relay_lease_lost` log lines say who is active.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog
from nats.js import JetStreamContext
from nats.js.errors import (
    BadRequestError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
    NotFoundError,
)
from nats.js.kv import KeyValue
from prometheus_client import Counter, Gauge

log = structlog.get_logger("zvonar.campaign.relay")

LEASE_BUCKET = "relay-lease"
# JetStream's "stream name already in use" (created meanwhile by another relay).
_STREAM_NAME_IN_USE = 10058

RELAY_ACTIVE = Gauge(
    "zvonar_relay_active",
    "1 while this process holds the relay lease and publishes, 0 while it is a standby",
)
RELAY_TAKEOVERS = Counter(
    "zvonar_relay_lease_acquired_total",
    "Times this process acquired the relay lease (at start, or taking over from a relay "
    "whose lease expired)",
)

RELAY_DUPLICATES = Counter(
    "zvonar_relay_duplicates_dropped_total",
    "Events the relay published that JetStream dropped as duplicates (Nats-Msg-Id seen "
    "within the duplicate window): republished after a relay died or lost its lease between "
    "publishing and recording its position",
)


class LeaseLost(Exception):
    """Another relay holds the lease now: stop publishing."""


class RelayLease:
    def __init__(
        self,
        js: JetStreamContext,
        *,
        holder: str,
        name: str = "relay",
        ttl: float = 3.0,
        replicas: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0:
            raise ValueError(f"the lease's ttl must be positive, got {ttl}")
        self.js = js
        self.holder = holder
        self.name = name
        self.ttl = ttl
        self.replicas = replicas
        self.clock = clock
        self.revision: int | None = None  # the revision this relay last wrote, while it holds
        self.renewed_at = 0.0
        self._kv: KeyValue | None = None

    @property
    def holding(self) -> bool:
        return self.revision is not None

    async def _bucket(self) -> KeyValue:
        if self._kv is not None:
            return self._kv
        try:
            kv = await self.js.key_value(LEASE_BUCKET)
        except NotFoundError:
            try:
                kv = await self.js.create_key_value(
                    bucket=LEASE_BUCKET, ttl=self.ttl, history=1, replicas=self.replicas
                )
            except BadRequestError as exc:
                if exc.err_code != _STREAM_NAME_IN_USE:
                    raise
                kv = await self.js.key_value(LEASE_BUCKET)
        # The bucket's own max age is what expires a lease: renew by it, whatever this
        # process was configured with (another relay may have created the bucket).
        status = await kv.status()
        if status.ttl:
            self.ttl = float(status.ttl)
        self._kv = kv
        return kv

    async def acquire(self) -> None:
        """Returns once this relay holds the lease; a standby until then."""
        waited_since = self.clock()
        said_standby = False
        while True:
            try:
                kv = await self._bucket()
                revision = await kv.create(self.name, self.holder.encode())
            except KeyWrongLastSequenceError:
                if not said_standby:
                    said_standby = True
                    log.info(
                        "relay_standby",
                        holder=self.holder,
                        held_by=await self._held_by(kv),
                        lease_ttl=self.ttl,
                    )
                await asyncio.sleep(min(self.ttl / 10, 0.5))
                continue
            except (asyncio.CancelledError, KeyboardInterrupt):
                raise
            except Exception as exc:  # NATS unreachable or still electing: try again
                log.warning("relay_lease_unavailable", holder=self.holder, error=repr(exc))
                await asyncio.sleep(0.5)
                continue
            self._took(revision)
            RELAY_TAKEOVERS.inc()
            log.info(
                "relay_active",
                holder=self.holder,
                revision=revision,
                waited_seconds=round(self.clock() - waited_since, 3),
            )
            return

    async def fence(self) -> None:
        """Renews the lease if this relay still holds it; else `LeaseLost`."""
        if self.revision is None:
            raise LeaseLost(f"relay {self.holder} holds no lease")
        kv = await self._bucket()
        try:
            revision = await kv.update(self.name, self.holder.encode(), last=self.revision)
        except KeyWrongLastSequenceError:
            held_by = await self._held_by(kv)
            self._dropped()
            log.warning("relay_lease_lost", holder=self.holder, held_by=held_by)
            raise LeaseLost(f"the relay lease is held by {held_by}") from None
        self._took(revision)

    async def keep(self) -> None:
        """Renews the lease if a third of its ttl has passed since the last renewal."""
        if self.clock() - self.renewed_at >= self.ttl / 3:
            await self.fence()

    async def release(self) -> None:
        """Gives the lease up (a clean stop), so a standby need not wait for it to expire."""
        if self.revision is None or self._kv is None:
            return
        try:
            await self._kv.delete(self.name, last=self.revision)
        except KeyWrongLastSequenceError:
            pass  # it expired and was taken meanwhile: nothing of ours to give up
        finally:
            self._dropped()
        log.info("relay_lease_released", holder=self.holder)

    def _took(self, revision: int) -> None:
        self.revision = revision
        self.renewed_at = self.clock()
        RELAY_ACTIVE.set(1)

    def _dropped(self) -> None:
        self.revision = None
        RELAY_ACTIVE.set(0)

    async def _held_by(self, kv: KeyValue) -> str | None:
        try:
            entry = await kv.get(self.name)
        except (KeyNotFoundError, NotFoundError):
            return None
        return entry.value.decode() if entry.value else None
