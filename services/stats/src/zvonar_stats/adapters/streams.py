"""JetStream reading with nats-py: the durable pull consumers that feed the projections
(explicit acks, a nak on error so the batch comes back, holes filled from the stream) and
one-off ordered reads of a whole stream from a given sequence (rebuild, check)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import structlog
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, Header
from nats.js.errors import NotFoundError

from zvonar_contracts import subjects
from zvonar_contracts.subjects import POSITION_HEADER
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


# Failures in a row after which batches go one message at a time, and a message that
# fails this many times on its own is parked.
PARK_AFTER = 3

Park = Callable[[Envelope, Exception], Awaitable[bool]]


async def consume(
    js: JetStreamContext,
    *,
    stream: str,
    durable: str,
    position: Callable[[], Awaitable[int]],
    apply: ApplyBatch,
    park: Park | None = None,
    batch: int = 500,
    stop: asyncio.Event | None = None,
    ack_all: bool = False,
) -> None:
    """Fetch, apply in one transaction, ack — for ever; a failed batch is nacked whole.
    `ack_all`: the consumer acks cumulatively (AckPolicy.ALL), one ack per batch (a call
    partition's consumer, which reads every call event and applies a fraction).

    `apply` skips what is at or below the sequence stored with the rows; `position()`
    reads that sequence. The durable consumer is created (when missing) from the message
    after it. A batch that does not follow on from the stored sequence — what a killed
    instance had fetched is still pending until its ack wait ends, or another instance
    holds it — is widened to the whole range from the stored sequence, read straight from
    the stream, so nothing is skipped; what comes again later is below the checkpoint.

    A message that cannot be stored is parked (`park`) once it has failed on its own
    `PARK_AFTER` times, so one bad message does not stop the projection of every account.
    """
    applier = _Applier(stream, apply, park, batch)
    applied = await position()
    sub = await _subscribe(js, stream, durable, applied + 1, batch, ack_all)
    failures = 0
    try:
        while stop is None or not stop.is_set():
            try:
                msgs = await sub.fetch(batch, timeout=1.0)
            except TimeoutError:  # nats-py raises its own and asyncio's
                _raise_if_cancelled()
                continue
            except NatsError as exc:  # a reconnect, a lost consumer: ask again shortly
                _raise_if_cancelled()
                log.warning("fetch_failed", durable=durable, error=repr(exc))
                await asyncio.sleep(0.5)
                sub = await _resubscribe(js, sub, stream, durable, position, batch, ack_all)
                continue
            _raise_if_cancelled()
            envelopes = sorted((envelope_of(m) for m in msgs), key=lambda e: e.seq)
            try:
                fresh = [e for e in envelopes if e.seq > applied]
                if fresh and not _follows_on(applied, fresh):
                    applied = await position()  # another instance may have gone on meanwhile
                    fresh = await _with_holes_filled(js, stream, applied, fresh, batch)
                if fresh:
                    await applier.apply(fresh)
                    applied = max(applied, fresh[-1].seq)
            except Exception:
                failures += 1
                delay = min(0.2 * 2**failures, 5.0)
                await asyncio.gather(*(m.nak(delay=delay) for m in msgs), return_exceptions=True)
                await asyncio.sleep(delay)
                applied = await _position_or(position, applied)
                continue
            failures = 0
            if ack_all:
                await msgs[-1].ack()  # the last delivered: every one before it with it
            else:
                for m in msgs:
                    await m.ack()
    finally:
        # Messages fetched but never handed out would keep a drain waiting for ever.
        with contextlib.suppress(Exception):
            await sub.unsubscribe()


async def _subscribe(
    js: JetStreamContext, stream: str, durable: str, start: int, batch: int, ack_all: bool = False
) -> JetStreamContext.PullSubscription:
    """Binds the durable consumer, creating it from `start` if it is missing."""
    config = ConsumerConfig(
        durable_name=durable,
        ack_policy=AckPolicy.ALL if ack_all else AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=start,
        ack_wait=60,
        max_ack_pending=batch,
        max_deliver=-1,
    )
    return await js.pull_subscribe(
        STREAM_FILTERS[stream], durable=durable, stream=stream, config=config
    )


async def _resubscribe(
    js: JetStreamContext,
    sub: JetStreamContext.PullSubscription,
    stream: str,
    durable: str,
    position: Callable[[], Awaitable[int]],
    batch: int,
    ack_all: bool = False,
) -> JetStreamContext.PullSubscription:
    """The same subscription while its consumer exists; a new one (from the stored
    sequence) if the server lost it."""
    try:
        await js.consumer_info(stream, durable)
        return sub
    except NotFoundError:
        log.warning("consumer_recreated", durable=durable)
    except NatsError:
        return sub  # the server is out of reach: the next fetch tells more
    with contextlib.suppress(Exception):
        await sub.unsubscribe()
    return await _subscribe(js, stream, durable, await position() + 1, batch, ack_all)


async def _with_holes_filled(
    js: JetStreamContext, stream: str, applied: int, fresh: list[Envelope], batch: int
) -> list[Envelope]:
    """Every message after `applied` up to the last of `fresh`, read from the stream."""
    fresh = [e for e in fresh if e.seq > applied]
    if not fresh:
        return []
    filled: list[Envelope] = []
    async for part in read_stream(js, stream, start=applied + 1, end=fresh[-1].seq, batch=batch):
        filled.extend(part)
    log.info("hole_filled", stream=stream, after=applied, fetched=len(fresh), read=len(filled))
    return filled


def _follows_on(applied: int, fresh: list[Envelope]) -> bool:
    """Whether `fresh` (sorted) is exactly the messages after `applied`, with no hole."""
    return fresh[0].seq == applied + 1 and fresh[-1].seq == applied + len(fresh)


async def _position_or(position: Callable[[], Awaitable[int]], known: int) -> int:
    try:
        return await position()
    except Exception:
        return known


def _raise_if_cancelled() -> None:
    """nats-py's fetch can swallow a cancellation; the loop must still end on one."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class _Applier:
    """Applies batches; after `PARK_AFTER` failed batches in a row, the next `batch`
    messages go one at a time, and one that fails `PARK_AFTER` times on its own is handed
    to `park` (which refuses while the database is merely unreachable)."""

    def __init__(self, stream: str, apply: ApplyBatch, park: Park | None, batch: int) -> None:
        self._stream = stream
        self._apply = apply
        self._park = park
        self._batch = batch
        self._failures = 0
        self._single_left = 0
        self._stuck = (0, 0)  # (seq, failures) of the message failing on its own

    async def apply(self, envelopes: list[Envelope]) -> None:
        """Applies every message, or parks one that cannot be stored and goes on with the
        rest; raises when the batch must be tried again."""
        if self._single_left <= 0 or self._park is None:
            try:
                await self._apply(envelopes)
            except Exception as exc:
                self._failures += 1
                log.error(
                    "batch_failed",
                    stream=self._stream,
                    size=len(envelopes),
                    first_seq=envelopes[0].seq,
                    error=repr(exc),
                )
                if self._failures >= PARK_AFTER:
                    self._single_left = self._batch
                raise
            self._failures = 0
            return
        for envelope in envelopes:
            try:
                await self._apply([envelope])
            except Exception as exc:
                seq, times = self._stuck
                self._stuck = (envelope.seq, times + 1 if seq == envelope.seq else 1)
                log.error(
                    "event_failed",
                    stream=self._stream,
                    seq=envelope.seq,
                    subject=envelope.subject,
                    times=self._stuck[1],
                    error=repr(exc),
                )
                if self._stuck[1] >= PARK_AFTER and await self._park(envelope, exc):
                    self._stuck, self._failures = (0, 0), 0
                    continue  # past it: the checkpoint moved with the parking
                raise
            self._single_left -= 1
        self._failures = 0


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
