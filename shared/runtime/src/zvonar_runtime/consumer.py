"""The one way every service reads a JetStream durable consumer: batched pulls on an inbox
of its own, explicit acks, a nak with back-off when a handler fails, and a message parked
(terminated, logged as `message_parked`, counted, and recorded by the service where it has
a table for them) when it cannot be decoded or has failed `park_after` deliveries.

A `Consumer` is given a decoder and either `handle` (one message at a time, each under its
own correlation id) or `handle_batch` (the whole batch at once, e.g. one transaction; a
batch that fails is tried again one message at a time, so one bad message is parked alone).
Failures the service calls `transient` (the database or another service out of reach) are
nakked with back-off for as long as they last and never parked.

Metrics are the project's own (zvonar_runtime.metrics), labelled with the durable's name:
`zvonar_messages_processed_total`, `zvonar_messages_failed_total` (nakked),
`zvonar_message_handling_duration_seconds` and `zvonar_messages_parked_total{stream,
reason}` with reason `undecodable` or `failed_repeatedly`.

Its `run` is a background job: cancelled, it lets the batch in hand finish (bounded by
`drain_seconds`) and naks what it had fetched and not handled, so nothing waits out an ack
wait after a clean stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, Header
from nats.js.errors import NotFoundError

from zvonar_contracts.subjects import CORRELATION_HEADER
from zvonar_runtime.correlation import correlation_scope
from zvonar_runtime.metrics import (
    MESSAGE_SECONDS,
    MESSAGES_FAILED,
    MESSAGES_PARKED,
    MESSAGES_PROCESSED,
)

log = structlog.get_logger("zvonar.consumer")

T = TypeVar("T")

ACK = b"+ACK"
TERM = b"+TERM"
NAK = b"-NAK"
STATUS = Header.STATUS.value
DESCRIPTION = Header.DESCRIPTION.value
API_PREFIX = "$JS.API"
# How long past its `expires` a pull request is given before it is taken as lost (a
# reconnect in between, a server that restarted).
LOST_REQUEST_GRACE_S = 1.0


class ConsumerError(Exception):
    """A consumer that cannot work as specified (bad settings)."""


@dataclass(frozen=True, slots=True)
class ConsumerSpec:
    """What a durable consumer is and how it is read. `ack="all"` acks the last message of
    a handled batch only (the durable must be AckPolicy.ALL); `"each"` acks every one."""

    stream: str
    durable: str
    # One subject filter, or several (a partition of the stream: NATS 2.10 filter_subjects).
    filter_subject: str | tuple[str, ...]
    batch: int = 100
    max_wait: float = 1.0
    ack: Literal["each", "all"] = "each"
    ack_wait: float = 30.0
    max_ack_pending: int = 1000
    # A message is parked at its park_after-th failed delivery; None: never (but see
    # `transient`: those are never parked whatever this says).
    park_after: int | None = 5
    retry_base: float = 0.5
    retry_ceiling: float = 15.0
    drain_seconds: float = 10.0
    # Where a missing durable starts: the first message of the stream, or `start_sequence`.
    start_sequence: int | None = None
    # Ask for the next batch before handling this one (the server fills it meanwhile):
    # more throughput, but up to two batches are out at once (mind max_ack_pending).
    prefetch: bool = False

    def __post_init__(self) -> None:
        if self.batch < 1 or self.max_wait <= 0 or self.ack_wait <= 0:
            raise ConsumerError(f"{self.durable}: batch, max_wait and ack_wait must be > 0")
        if self.park_after is not None and self.park_after < 1:
            raise ConsumerError(f"{self.durable}: park_after must be >= 1 or None")
        if not self.filter_subject:
            raise ConsumerError(f"{self.durable}: no subject filter")
        if self.ack not in ("each", "all"):
            raise ConsumerError(f"{self.durable}: ack is 'each' or 'all', not {self.ack!r}")

    @property
    def filters(self) -> tuple[str, ...]:
        subject = self.filter_subject
        return (subject,) if isinstance(subject, str) else subject

    def backoff(self, delivered: int) -> float:
        """Delay before the next delivery: doubles with each failed one, up to the ceiling."""
        return min(self.retry_base * 2.0 ** min(max(delivered, 1) - 1, 16), self.retry_ceiling)


@dataclass(frozen=True, slots=True)
class Message:
    """One delivery as it came: what a handler and a park hook may want besides the event."""

    subject: str
    data: bytes
    headers: Mapping[str, str]
    stream_seq: int
    delivered: int
    reply: str

    @property
    def correlation_id(self) -> str | None:
        return self.headers.get(CORRELATION_HEADER)


@dataclass(frozen=True, slots=True)
class Parked:
    """A message set aside: why (`undecodable` or `failed_repeatedly`) and the error."""

    stream: str
    durable: str
    message: Message
    reason: str
    error: str


Handle = Callable[[T, Message], Awaitable[None]]
HandleBatch = Callable[[Sequence[tuple[T, Message]]], Awaitable[None]]
Decode = Callable[[bytes], T]
ParkHook = Callable[[Parked], Awaitable[None]]
StartAt = Callable[[], Awaitable[int]]


def _never(exc: BaseException) -> bool:
    return False


def message_of(msg: Msg) -> Message:
    """The stream sequence and delivery count from the ack subject (nats-py's Metadata
    builds a datetime and a dataclass per message)."""
    reply = msg.reply or ""
    tokens = reply.split(".")
    if len(tokens) == 9 and tokens[0] == "$JS":
        delivered, seq = int(tokens[4]), int(tokens[5])
    elif len(tokens) >= 12 and tokens[0] == "$JS":
        delivered, seq = int(tokens[6]), int(tokens[7])
    else:
        raise ConsumerError(f"not a JetStream delivery: reply subject {reply!r}")
    return Message(msg.subject, msg.data, msg.headers or {}, seq, delivered, reply)


class _Metrics:
    __slots__ = ("failed", "processed", "seconds")

    def __init__(self, durable: str) -> None:
        self.processed = MESSAGES_PROCESSED.labels(durable)
        self.failed = MESSAGES_FAILED.labels(durable)
        self.seconds = MESSAGE_SECONDS.labels(durable)


class _Inbox:
    """Pull requests answered on an inbox of this consumer's own: one request at a time,
    done when its batch is full or the server says it ended (404/408/409)."""

    def __init__(self, nc: Client, stream: str, durable: str) -> None:
        self.nc = nc
        self.next_subject = f"{API_PREFIX}.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self.inbox = nc.new_inbox()
        self.sub: Subscription | None = None
        self.token = 0
        self.got: list[Msg] = []
        self.want = 0
        self.done: asyncio.Future[str] | None = None
        self.last_status = ""

    async def open(self) -> None:
        self.sub = await self.nc.subscribe(f"{self.inbox}.*", cb=self._on_msg)

    async def close(self) -> None:
        if self.sub is not None:
            sub, self.sub = self.sub, None
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _on_msg(self, msg: Msg) -> None:
        headers = msg.headers
        if headers and STATUS in headers and not msg.data:
            status = headers[STATUS]
            if status == "100":  # idle heartbeat
                return
            if msg.subject.endswith(f".{self.token}") and self.done and not self.done.done():
                self.last_status = f"{status} {headers.get(DESCRIPTION, '')}".strip()
                self.done.set_result(self.last_status)
            return
        # A late message of an earlier request is still a delivery: handled with this one.
        self.got.append(msg)
        if len(self.got) >= self.want and self.done is not None and not self.done.done():
            self.done.set_result("")

    async def fetch(self, batch: int, max_wait: float, *, prefetch: bool = False) -> list[Msg]:
        """The next batch: what the request in flight (or a new one) brings, up to its end.
        With `prefetch` the following request is sent before this batch is returned."""
        done = self.done
        if done is None or (done.done() and not self.got):
            done = await self._request(batch, max_wait)
        timer = asyncio.get_running_loop().call_later(
            max_wait + LOST_REQUEST_GRACE_S, _end, done, "lost"
        )
        try:
            self.last_status = await done
        finally:
            timer.cancel()
        taken = self._take()
        self.done = None
        if prefetch:
            await self._request(batch, max_wait)
        return taken

    async def _request(self, batch: int, max_wait: float) -> asyncio.Future[str]:
        self.token += 1
        self.want = batch
        done = self.done = asyncio.get_running_loop().create_future()
        if len(self.got) >= batch:
            done.set_result("")
            return done
        request = {"batch": batch - len(self.got), "expires": int(max_wait * 1e9)}
        await self.nc.publish(
            self.next_subject, json.dumps(request).encode(), reply=f"{self.inbox}.{self.token}"
        )
        return done

    def _take(self) -> list[Msg]:
        taken, self.got = self.got, []
        return taken


def _end(done: asyncio.Future[str], status: str) -> None:
    if not done.done():
        done.set_result(status)


class Consumer(Generic[T]):
    """A durable pull consumer read by `handle` or `handle_batch` (see the module's doc)."""

    def __init__(
        self,
        nc: Client,
        spec: ConsumerSpec,
        decode: Decode[T],
        *,
        handle: Handle[T] | None = None,
        handle_batch: HandleBatch[T] | None = None,
        park: ParkHook | None = None,
        transient: Callable[[BaseException], bool] = _never,
        start: StartAt | None = None,
    ) -> None:
        """`start`, if given, is asked where a missing durable starts each time one is
        created (a consumer the server lost starts again from the service's checkpoint of
        that moment, not from where it first started); it overrides `spec.start_sequence`."""
        if (handle is None) == (handle_batch is None):
            raise ConsumerError(f"{spec.durable}: give exactly one of handle and handle_batch")
        self.nc = nc
        self.spec = spec
        self.decode = decode
        self.handle = handle
        self.handle_batch = handle_batch
        self.park_hook = park
        self.transient = transient
        self.start = start
        self.metrics = _Metrics(spec.durable)
        self.log = log.bind(stream=spec.stream, durable=spec.durable)
        self._unsettled: dict[str, Msg] = {}

    @property
    def durable(self) -> tuple[str, str]:
        """(stream, durable): for the consumer-lag gauges."""
        return self.spec.stream, self.spec.durable

    async def ensure(self) -> None:
        """Creates the durable if it is missing; one that exists is used as it is (a
        running system's consumer keeps its position and its settings)."""
        js = self.nc.jetstream()
        spec = self.spec
        try:
            await js.consumer_info(spec.stream, spec.durable)
            return
        except NotFoundError:
            pass
        filters = spec.filters
        config = ConsumerConfig(
            durable_name=spec.durable,
            filter_subject=filters[0] if len(filters) == 1 else None,
            filter_subjects=list(filters) if len(filters) > 1 else None,
            ack_policy=AckPolicy.ALL if spec.ack == "all" else AckPolicy.EXPLICIT,
            ack_wait=spec.ack_wait,
            max_ack_pending=spec.max_ack_pending,
            max_deliver=-1,
            deliver_policy=DeliverPolicy.ALL,
        )
        start_sequence = spec.start_sequence if self.start is None else await self.start()
        if start_sequence is not None:
            config.deliver_policy = DeliverPolicy.BY_START_SEQUENCE
            config.opt_start_seq = start_sequence
        await js.add_consumer(spec.stream, config)
        self.log.info("consumer_created", filter=spec.filter_subject)

    async def run(self) -> None:
        """Fetch, handle, settle — until cancelled (then drain, see the module's doc)."""
        inbox = _Inbox(self.nc, self.spec.stream, self.spec.durable)
        await self._ensure_until_done()
        await inbox.open()
        try:
            while True:
                msgs = await inbox.fetch(
                    self.spec.batch, self.spec.max_wait, prefetch=self.spec.prefetch
                )
                if msgs:
                    await self._drained(self._settle(msgs))
                elif inbox.last_status.startswith(("409", "503", "lost")):
                    await self._lost_request(inbox.last_status)
        finally:
            await inbox.close()
            for msg in inbox.got:  # came after the last fetch ended
                self._unsettled[msg.reply or ""] = msg
            await self._nak_unsettled()

    async def _ensure_until_done(self) -> None:
        while True:
            try:
                await self.ensure()
                return
            except (NatsError, TimeoutError) as exc:
                self.log.warning("consumer_unavailable", error=repr(exc), retry_in_seconds=1.0)
                await asyncio.sleep(1.0)

    async def _lost_request(self, status: str) -> None:
        """A request the server ended without messages for a reason other than "none yet"
        (the durable deleted, a leader change, a reconnect): look again in a moment."""
        self.log.info("pull_request_ended", status=status)
        await asyncio.sleep(0.2)
        with contextlib.suppress(NatsError, TimeoutError):
            await self.ensure()

    async def _drained(self, work: Awaitable[None]) -> None:
        """The batch in hand runs to its end even if the consumer is cancelled meanwhile
        (within drain_seconds): a stop never leaves a handler half done."""
        task = asyncio.ensure_future(work)
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, self.spec.drain_seconds)
            raise

    async def _settle(self, msgs: list[Msg]) -> None:
        for msg in msgs:
            self._unsettled[msg.reply] = msg
        decoded: list[tuple[T, Message]] = []
        for msg in msgs:
            try:
                message = message_of(msg)
            except ConsumerError as exc:  # published to this inbox by someone else
                self._unsettled.pop(msg.reply, None)
                self.log.warning("not_a_delivery", subject=msg.subject, error=str(exc))
                continue
            try:
                decoded.append((self.decode(message.data), message))
            except Exception as exc:
                await self._park(message, "undecodable", exc)
        if not decoded:
            return
        if self.handle is not None:
            await self._one_by_one(self.handle, decoded)
            return
        assert self.handle_batch is not None
        await self._batch(self.handle_batch, decoded)

    async def _batch(self, handle_batch: HandleBatch[T], decoded: list[tuple[T, Message]]) -> None:
        started = time.perf_counter()
        try:
            await handle_batch(decoded)
        except Exception as exc:
            if len(decoded) > 1 and not self.transient(exc):
                # One bad message must not hold back the others: each alone, to find it.
                self.log.warning("batch_failed", size=len(decoded), error=repr(exc))

                async def alone(event: T, message: Message) -> None:
                    await handle_batch([(event, message)])

                await self._one_by_one(alone, decoded)
            elif len(decoded) == 1:
                await self._failed(decoded[0][1], exc)
            else:
                await self._nak_all([m for _, m in decoded], exc)
            return
        self.metrics.seconds.observe(time.perf_counter() - started)
        self.metrics.processed.inc(len(decoded))
        await self._ack([m for _, m in decoded])

    async def _one_by_one(self, handle: Handle[T], decoded: list[tuple[T, Message]]) -> None:
        handled: list[Message] = []
        for event, message in decoded:
            if await self._one(handle, event, message):
                handled.append(message)
            elif self.spec.ack == "all":
                # Acking a later message would ack this one too: the rest come again.
                await self._ack(handled)
                await self._nak_all([m for _, m in decoded if m.reply in self._unsettled])
                return
        if self.spec.ack == "all":
            await self._ack(handled)

    async def _one(self, handle: Handle[T], event: T, message: Message) -> bool:
        """Handles one message under its correlation id; whether it is settled for good
        (handled, or parked). Acked at once with ack="each", by the caller with "all"."""
        started = time.perf_counter()
        with correlation_scope(message.correlation_id):
            try:
                await handle(event, message)
            except Exception as exc:
                return await self._failed(message, exc)
        self.metrics.seconds.observe(time.perf_counter() - started)
        self.metrics.processed.inc()
        if self.spec.ack == "each":
            await self._send(message, ACK)
        return True

    async def _failed(self, message: Message, exc: Exception) -> bool:
        """Nak with back-off, or park at the park_after-th delivery; whether it is settled
        for good (parked)."""
        park_after = self.spec.park_after
        if not self.transient(exc) and park_after is not None and message.delivered >= park_after:
            return await self._park(message, "failed_repeatedly", exc)
        delay = self.spec.backoff(message.delivered)
        self.metrics.failed.inc()
        with correlation_scope(message.correlation_id):
            self.log.warning(
                "message_failed",
                seq=message.stream_seq,
                subject=message.subject,
                delivered=message.delivered,
                error=repr(exc),
                retry_in_seconds=delay,
            )
        await self._nak(message, delay)
        return False

    async def _park(self, message: Message, reason: str, exc: Exception) -> bool:
        parked = Parked(self.spec.stream, self.spec.durable, message, reason, repr(exc))
        with correlation_scope(message.correlation_id):
            if self.park_hook is not None:
                try:
                    await self.park_hook(parked)
                except Exception as hook_error:
                    # Not recorded, so not terminated: it comes again and is parked then.
                    self.log.error("park_failed", seq=message.stream_seq, error=repr(hook_error))
                    self.metrics.failed.inc()
                    await self._nak(message, self.spec.backoff(message.delivered))
                    return False
            await self._send(message, TERM)
            MESSAGES_PARKED.labels(self.spec.stream, reason).inc()
            self.log.error(
                "message_parked",
                seq=message.stream_seq,
                subject=message.subject,
                delivered=message.delivered,
                reason=reason,
                error=repr(exc),
            )
        return True

    async def _ack(self, messages: Sequence[Message]) -> None:
        if self.spec.ack == "all":
            for message in messages:
                self._unsettled.pop(message.reply, None)
            if messages:
                await self.nc.publish(messages[-1].reply, ACK)
            return
        for message in messages:
            await self._send(message, ACK)

    async def _nak(self, message: Message, delay: float) -> None:
        await self._send(message, NAK + b" " + json.dumps({"delay": int(delay * 1e9)}).encode())

    async def _nak_all(self, messages: Sequence[Message], exc: Exception | None = None) -> None:
        if not messages:
            return
        delay = self.spec.backoff(max(m.delivered for m in messages))
        if exc is not None:
            self.metrics.failed.inc(len(messages))
            self.log.warning(
                "batch_failed",
                size=len(messages),
                first_seq=messages[0].stream_seq,
                error=repr(exc),
                retry_in_seconds=delay,
            )
        for message in messages:
            await self._nak(message, delay)

    async def _send(self, message: Message, payload: bytes) -> None:
        self._unsettled.pop(message.reply, None)
        await self.nc.publish(message.reply, payload)

    async def _nak_unsettled(self) -> None:
        """What was fetched and not handled goes back at once (not after the ack wait)."""
        unsettled, self._unsettled = list(self._unsettled), {}
        for reply in unsettled:
            with contextlib.suppress(Exception):
                await self.nc.publish(reply, NAK)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.nc.flush(), 1.0)
