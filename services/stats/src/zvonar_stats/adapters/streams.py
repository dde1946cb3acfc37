"""JetStream reading with nats-py: the ordered reads that feed the projections from
their stored checkpoints (`follow`), and one-off ordered reads of a whole stream from a
given sequence (rebuild, export, check)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import structlog
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, Header

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


async def follow(
    js: JetStreamContext,
    *,
    stream: str,
    position: Callable[[], Awaitable[int]],
    apply: ApplyBatch,
    park: Park | None = None,
    batch: int = 500,
    stop: asyncio.Event | None = None,
) -> None:
    """Applies the stream in order from just past the stored position, for ever.

    The read model's checkpoint, not a consumer's acks, says where to go on from: an
    ordered ephemeral consumer starts at the message after `position()`, and any break —
    an apply that fails, a consumer the server lost, a hole in the consumer's sequence —
    ends that consumer, and a new one starts from the checkpoint stored by then. A message
    that cannot be stored is parked (`park`) once it has failed on its own `PARK_AFTER`
    times, so one bad message does not stop the projection of every account.

    (A durable consumer with acks cannot promise this together with the "skip what is at
    or below the stored sequence" rule: what a killed instance had fetched stays pending
    until its ack wait ends while later messages are applied, and when it comes again it
    is below the checkpoint and dropped.)
    """
    applier = _Applier(stream, apply, park, batch)
    failures = 0
    while stop is None or not stop.is_set():
        reader: _Follower | None = None
        try:
            reader = _Follower(js, stream, await position() + 1, batch)
            await reader.open()
            while stop is None or not stop.is_set():
                msgs = await reader.next()
                _raise_if_cancelled()
                if not msgs:
                    continue
                if not await applier.apply([envelope_of(m) for m in msgs]):
                    break  # a message was parked: go on from the checkpoint past it
                failures = 0
        except Exception as exc:
            failures += 1
            delay = min(0.2 * 2**failures, 5.0)
            log.warning("follow_restarts", stream=stream, error=repr(exc), retry_in_s=delay)
            await asyncio.sleep(delay)
        finally:
            if reader is not None:
                await reader.close()


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

    async def apply(self, envelopes: list[Envelope]) -> bool:
        """True when every message was applied; False when one was parked instead (the
        ones after it were not applied). Raises when the batch must be tried again."""
        if self._single_left <= 0 or self._park is None:
            try:
                await self._apply(envelopes)
            except Exception as exc:
                self._failures += 1
                log.error("batch_failed", stream=self._stream, size=len(envelopes),
                          first_seq=envelopes[0].seq, error=repr(exc))  # fmt: skip
                if self._failures >= PARK_AFTER:
                    self._single_left = self._batch
                raise
            self._failures = 0
            return True
        for envelope in envelopes:
            try:
                await self._apply([envelope])
            except Exception as exc:
                seq, times = self._stuck
                self._stuck = (envelope.seq, times + 1 if seq == envelope.seq else 1)
                log.error("event_failed", stream=self._stream, seq=envelope.seq,
                          subject=envelope.subject, times=self._stuck[1],
                          error=repr(exc))  # fmt: skip
                if self._stuck[1] >= PARK_AFTER and await self._park(envelope, exc):
                    self._stuck, self._failures = (0, 0), 0
                    return False
                raise
            self._single_left -= 1
        self._failures = 0
        return True


async def last_seq(js: JetStreamContext, stream: str) -> int:
    info = await js.stream_info(stream)
    return int(info.state.last_seq)


async def read_stream(
    js: JetStreamContext, stream: str, *, start: int = 1, end: int | None = None,
    batch: int = 1000,
) -> AsyncIterator[list[Envelope]]:  # fmt: skip
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
                if seq >= await last_seq(js, stream):
                    return
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

    _EXPIRES = 2.0

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
            self._done.set()
        elif status != "100":  # heartbeats aside, the consumer is gone or refused us
            self._error = NatsError(f"pull from {self._stream}: {status} "
                                    f"{headers.get(DESCRIPTION_HEADER, '')}")  # fmt: skip
            self._done.set()

    async def next(self, wanted: int) -> list[Msg]:
        """Up to `wanted` messages: fewer when the stream has no more for now."""
        self._msgs, self._wanted = [], wanted
        self._done.clear()
        request = {"batch": wanted, "expires": int(self._EXPIRES * 1e9)}
        await self._nc.publish(self._subject, json.dumps(request).encode(), reply=self._inbox)
        await _wait(self._done, self._EXPIRES + 1.0)
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


def consumer_seq(msg: Msg) -> int:
    tokens = (msg.reply or "").split(".")
    if len(tokens) == 9 and tokens[0] == "$JS":
        return int(tokens[6])
    return int(msg.metadata.sequence.consumer)


class _Follower:
    """An ordered read of one ephemeral consumer that does not stop at the tail.

    One pull request is open at a time and is renewed from the inbox callback as soon as
    it is used up or expires, so a message published while we wait arrives at once; no
    more is asked for while `2 × batch` messages wait to be applied. A hole in the
    consumer sequence, an error status, or silence past two request lifetimes ends it."""

    _EXPIRES = 5.0

    def __init__(self, js: JetStreamContext, stream: str, start: int, batch: int) -> None:
        self._js = js
        self._nc = js._nc
        self._stream = stream
        self._start = start
        self._batch = batch
        self._inbox = self._nc.new_inbox()
        self._subject = ""
        self._consumer = ""
        self._sub: Subscription | None = None
        self._buffer: list[Msg] = []
        self._arrived = asyncio.Event()
        self._open = False  # a pull request may still bring messages
        self._owed = 0
        self._cseq = 0
        self._heard = time.monotonic()
        self._error: Exception | None = None

    async def open(self) -> None:
        config = ConsumerConfig(
            ack_policy=AckPolicy.NONE,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=self._start,
            filter_subject=STREAM_FILTERS[self._stream],
            inactive_threshold=30.0,
            max_waiting=4,
        )
        info = await self._js.add_consumer(self._stream, config)
        self._consumer = str(info.name)
        self._subject = f"{self._js._prefix}.CONSUMER.MSG.NEXT.{self._stream}.{self._consumer}"
        self._sub = await self._nc.subscribe(self._inbox, cb=self._on_message)
        await self._request()

    async def _request(self) -> None:
        self._open, self._owed = True, self._batch
        request = {"batch": self._batch, "expires": int(self._EXPIRES * 1e9)}
        await self._nc.publish(self._subject, json.dumps(request).encode(), reply=self._inbox)

    async def _on_message(self, msg: Msg) -> None:
        self._heard = time.monotonic()
        headers = msg.headers or {}
        status = headers.get(STATUS_HEADER) if not msg.data else None
        if status is None:
            cseq = consumer_seq(msg)
            if cseq != self._cseq + 1:
                self._fail(f"consumer sequence {cseq} after {self._cseq}")
                return
            self._cseq = cseq
            self._buffer.append(msg)
            self._arrived.set()
            self._owed -= 1
            if self._owed > 0:
                return
        elif status not in ("404", "408"):  # not "no messages now" nor "request expired"
            if status != "100":  # heartbeats aside, the consumer is gone or refused us
                self._fail(f"{status} {headers.get(DESCRIPTION_HEADER, '')}")
            return
        self._open = False
        if len(self._buffer) < 2 * self._batch and self._error is None:
            await self._request()

    def _fail(self, why: str) -> None:
        self._error = NatsError(f"following {self._stream}: {why}")
        self._arrived.set()

    async def next(self) -> list[Msg]:
        """The messages arrived since the last call (at most `batch`), or [] after waiting
        a request's lifetime for one."""
        if not self._buffer and self._error is None:
            self._arrived.clear()
            await _wait(self._arrived, self._EXPIRES)
        if self._error is not None:
            raise self._error
        if not self._buffer:
            if time.monotonic() - self._heard > 2 * self._EXPIRES + 1.0:
                raise NatsError(f"following {self._stream}: no answer to pull requests")
            if not self._open:
                await self._request()
            return []
        msgs, self._buffer = self._buffer[: self._batch], self._buffer[self._batch :]
        if not self._open and len(self._buffer) < 2 * self._batch:
            await self._request()
        return msgs

    async def close(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
        with contextlib.suppress(Exception):
            await self._js.delete_consumer(self._stream, self._consumer)


async def _wait(event: asyncio.Event, seconds: float) -> None:
    """Waits for `event` at most `seconds`. Not `asyncio.wait_for`: on Python 3.11 it can
    swallow a cancellation that arrives as the event is set, and a follower told to stop
    would then go on for ever."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


def _raise_if_cancelled() -> None:
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
