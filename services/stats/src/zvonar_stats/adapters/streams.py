"""JetStream reading: the durable consumers that feed the projections, on the runtime's
consumer kit (a batch applied in one transaction with its checkpoint, holes filled from
the stream, a message that cannot be stored parked in `stats_parked`), and one-off reads
of a whole stream from a given sequence (rebuild, check)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Literal

import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, Header

from zvonar_contracts import subjects
from zvonar_contracts.subjects import POSITION_HEADER
from zvonar_runtime.consumer import Consumer, ConsumerSpec, Message, Parked
from zvonar_stats.domain.envelope import Envelope

log = structlog.get_logger("zvonar.stats.streams")

# Every subject of each stream, as a consumer's filter.
STREAM_FILTERS = {
    subjects.CAMPAIGN_EVENTS_STREAM: subjects.CAMPAIGN_EVENTS_SUBJECTS[0],
    subjects.CALL_EVENTS_STREAM: subjects.CALL_EVENTS_SUBJECTS[0],
}

STATUS_HEADER = Header.STATUS.value
DESCRIPTION_HEADER = Header.DESCRIPTION.value

ApplyBatch = Callable[[Sequence[Envelope]], Awaitable[object]]


def stream_seq(msg: Msg) -> int:
    """The stream sequence from the ack subject, without building nats-py's whole
    Metadata (a datetime and a dataclass per message weigh on a replay)."""
    tokens = (msg.reply or "").split(".")
    if len(tokens) == 9 and tokens[0] == "$JS":
        return int(tokens[5])
    return int(msg.metadata.sequence.stream)


def envelope_of(msg: Msg) -> Envelope:
    headers = msg.headers or {}
    position = headers.get(POSITION_HEADER, "0")
    return Envelope(
        seq=stream_seq(msg),
        data=msg.data,
        position=int(position) if position.isdigit() else 0,
        subject=msg.subject,
        correlation_id=headers.get(subjects.CORRELATION_HEADER),
    )


class HoleFailed(Exception):
    """Messages before the delivered ones (a hole: pending with another instance, or not
    yet redelivered) could not be applied: not the delivered message's fault, so it is
    retried, never parked for it — the failing one is parked when it comes itself."""


def envelope_from(message: Message) -> Envelope:
    position = message.headers.get(POSITION_HEADER, "0")
    return Envelope(
        seq=message.stream_seq,
        data=message.data,
        position=int(position) if position.isdigit() else 0,
        subject=message.subject,
        correlation_id=message.correlation_id,
    )


def _raw(data: bytes) -> bytes:
    """The projections decode a message in the transaction that applies it (one they
    cannot decode is skipped there, logged), so the kit hands the payload on as it is."""
    return data


async def consume(
    nc: Client,
    *,
    stream: str,
    durable: str,
    position: Callable[[], Awaitable[int]],
    apply: ApplyBatch,
    park: Park | None = None,
    transient: Callable[[BaseException], bool] = lambda exc: False,
    batch: int = 500,
    ack: Literal["each", "all"] = "each",
) -> None:
    """Fetch, apply in one transaction, ack — until cancelled — through the runtime's
    consumer kit (zvonar_runtime.consumer): batched pulls on an own inbox, ack of each
    message or (`ack="all"`, AckPolicy.ALL: a call partition's consumer, which reads every
    call event and applies a fraction) of the batch's last; a failed batch is tried one
    message at a time, a failure nakked with back-off, and a message that fails its 5th
    delivery is parked (`park`: recorded, the checkpoint moved past it) — never while the
    store is merely out of reach (`transient`).

    `apply` skips what is at or below the sequence stored with the rows; `position()`
    reads that sequence. The durable consumer is created (when missing) from the message
    after it. A batch that does not follow on from the stored sequence — what a killed
    instance had fetched is still pending until its ack wait ends, or another instance
    holds it — is widened to the whole range from the stored sequence, read straight from
    the stream, so nothing is skipped; what comes again later is below the checkpoint."""
    feed = _Feed(nc.jetstream(), stream, position, apply, park, batch)
    feed.applied = await position()

    async def start() -> int:
        return await position() + 1

    spec = ConsumerSpec(
        stream=stream,
        durable=durable,
        filter_subject=STREAM_FILTERS[stream],
        batch=batch,
        ack=ack,
        ack_wait=60.0,
        max_ack_pending=batch,
        # Without a park hook a message is never parked (terminated unrecorded, it would
        # only come back through the hole filling): retried for as long as it fails.
        park_after=5 if park is not None else None,
        retry_base=0.2,
        retry_ceiling=5.0,
    )
    consumer = Consumer(
        nc,
        spec,
        _raw,
        handle_batch=feed.handle,
        park=feed.park if park is not None else None,
        transient=lambda exc: isinstance(exc, HoleFailed) or transient(exc),
        start=start,
    )
    await consumer.run()


Park = Callable[[Envelope, str], Awaitable[bool]]


class _Feed:
    """The batch handler: applies what follows on from the stored sequence, holes filled."""

    def __init__(
        self,
        js: JetStreamContext,
        stream: str,
        position: Callable[[], Awaitable[int]],
        apply: ApplyBatch,
        park: Park | None,
        batch: int,
    ) -> None:
        self.js = js
        self.stream = stream
        self.position = position
        self.apply = apply
        self.parker = park
        self.batch = batch
        self.applied = 0  # the stored sequence as last seen: what is at or below is done

    async def handle(self, batch: Sequence[tuple[bytes, Message]]) -> None:
        fresh = sorted(
            (envelope_from(m) for _, m in batch if m.stream_seq > self.applied),
            key=lambda e: e.seq,
        )
        if fresh and not _follows_on(self.applied, fresh):
            self.applied = await self.position()  # another instance may have gone on
            fresh = [e for e in fresh if e.seq > self.applied]
            if fresh and not _follows_on(self.applied, fresh):
                fresh = await self._with_holes_filled(fresh)
        if fresh:
            await self.apply(fresh)
            self.applied = max(self.applied, fresh[-1].seq)

    async def _with_holes_filled(self, fresh: list[Envelope]) -> list[Envelope]:
        """Every message after `applied` up to the last of `fresh`, read from the stream;
        those before the first delivered one are applied first, on their own (HoleFailed
        if they fail)."""
        filled: list[Envelope] = []
        async for part in read_stream(
            self.js, self.stream, start=self.applied + 1, end=fresh[-1].seq, batch=self.batch
        ):
            filled.extend(part)
        log.info(
            "hole_filled",
            stream=self.stream,
            after=self.applied,
            fetched=len(fresh),
            read=len(filled),
        )
        before = [e for e in filled if e.seq < fresh[0].seq]
        if before:
            try:
                await self.apply(before)
            except Exception as exc:
                raise HoleFailed(
                    f"{self.stream} {before[0].seq}..{before[-1].seq}: {exc!r}"
                ) from exc
            self.applied = max(self.applied, before[-1].seq)
        return [e for e in filled if e.seq >= fresh[0].seq]

    async def park(self, parked: Parked) -> None:
        """The kit's park hook: records the message in stats' parked table and moves the
        checkpoint past it — only once everything before it is applied (a hole's messages
        are not skipped with it)."""
        assert self.parker is not None
        envelope = envelope_from(parked.message)
        done = await self.position()
        if done < envelope.seq - 1:
            self.applied = done
            await self._with_holes_filled([envelope])
        await self.parker(envelope, parked.error)
        self.applied = max(self.applied, envelope.seq)


def _follows_on(applied: int, fresh: list[Envelope]) -> bool:
    """Whether `fresh` (sorted) is exactly the messages after `applied`, with no hole."""
    return fresh[0].seq == applied + 1 and fresh[-1].seq == applied + len(fresh)


async def last_seq(js: JetStreamContext, stream: str) -> int:
    info = await js.stream_info(stream)
    return int(info.state.last_seq)


async def read_stream(
    js: JetStreamContext,
    stream: str,
    *,
    start: int = 1,
    end: int | None = None,
    batch: int = 1000,
) -> AsyncIterator[list[Envelope]]:
    """Batches of the stream's messages from `start` up to `end` (default: its tail now).

    An ephemeral pull consumer without acks, asked for a batch at a time on an inbox of
    our own: nats-py's `fetch` makes a task, a uuid and a timer per message, which cost a
    replay more than decoding the message does."""
    end = await last_seq(js, stream) if end is None else end
    if end < start:
        return
    config = ConsumerConfig(
        ack_policy=AckPolicy.NONE,
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=start,
        filter_subject=STREAM_FILTERS[stream],
        inactive_threshold=30.0,
        max_waiting=1,
    )
    consumer = await js.add_consumer(stream, config)
    pull = _Pull(js, stream, str(consumer.name))
    await pull.open()
    try:
        seq = start - 1
        while seq < end:
            msgs = await pull.next(min(batch, end - seq))
            if not msgs:
                if pull.exhausted or seq >= await last_seq(js, stream):
                    return  # what is left up to `end` was deleted from the stream
                continue
            envelopes = [envelope_of(m) for m in msgs]
            envelopes = [e for e in envelopes if e.seq <= end]
            if envelopes:
                seq = envelopes[-1].seq
                yield envelopes
            if len(envelopes) < len(msgs):
                return
    finally:
        await pull.close()


class _Pull:
    """Pull requests of one consumer, answered on one inbox subscription."""

    # How long to wait for the answer to one request (asked with no_wait, it comes at once).
    _PATIENCE = 3.0

    def __init__(self, js: JetStreamContext, stream: str, consumer: str) -> None:
        self._js = js
        self._nc = js._nc
        self._stream = stream
        self._consumer = consumer
        self._inbox = self._nc.new_inbox()
        self._subject = f"{js._prefix}.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self._msgs: list[Msg] = []
        self._wanted = 0
        self._done = asyncio.Event()
        self._error: Exception | None = None
        self._sub: Subscription | None = None
        self.exhausted = False  # the last request was told there is nothing more

    async def open(self) -> None:
        self._sub = await self._nc.subscribe(self._inbox, cb=self._arrived)

    async def _arrived(self, msg: Msg) -> None:
        headers = msg.headers or {}
        status = headers.get(STATUS_HEADER) if not msg.data else None
        if status is None:
            self._msgs.append(msg)
            if len(self._msgs) >= self._wanted:
                self._done.set()
        elif status in ("404", "408"):  # no (more) messages; the request expired
            self.exhausted = status == "404"
            self._done.set()
        elif status != "100":  # heartbeats aside, the consumer is gone or refused us
            self._error = NatsError(
                f"pull from {self._stream}: {status} {headers.get(DESCRIPTION_HEADER, '')}"
            )
            self._done.set()

    async def next(self, wanted: int) -> list[Msg]:
        """Up to `wanted` messages: fewer when the stream has no more for now."""
        self._msgs, self._wanted, self.exhausted = [], wanted, False
        self._done.clear()
        # no_wait: the server answers at once with what it has, and "404" once it has no
        # more — a stream with deleted messages has fewer than asked for.
        request = {"batch": wanted, "no_wait": True}
        await self._nc.publish(self._subject, json.dumps(request).encode(), reply=self._inbox)
        # Not `asyncio.wait_for`: on Python 3.11 it can swallow a cancellation that arrives
        # as the event is set, and a reader told to stop would then go on.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._PATIENCE):
                await self._done.wait()
        if self._error is not None:
            raise self._error
        msgs, self._msgs, self._wanted = self._msgs, [], 0
        return msgs

    async def close(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
        with contextlib.suppress(Exception):
            await self._js.delete_consumer(self._stream, self._consumer)
