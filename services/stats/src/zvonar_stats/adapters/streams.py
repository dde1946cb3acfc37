"""JetStream reading with nats-py: the durable pull consumers that feed the projections
(explicit acks, a nak on error so the batch comes back) and one-off ordered reads of a
whole stream from a given sequence (rebuild, export, check)."""

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


async def consume(
    js: JetStreamContext,
    *,
    stream: str,
    subject: str,
    durable: str,
    apply: ApplyBatch,
    batch: int = 500,
    stop: asyncio.Event | None = None,
) -> None:
    """Fetch, apply in one transaction, ack — for ever; a failed batch is nacked whole.

    At most one batch is unacknowledged at a time (max_ack_pending = batch), so even with
    several instances on the same durable consumer the batches are applied in stream
    order, which the "skip what is at or below the stored sequence" rule relies on.
    """
    config = ConsumerConfig(
        durable_name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=60,
        max_ack_pending=batch,
        max_deliver=-1,
    )
    sub = await js.pull_subscribe(subject, durable=durable, stream=stream, config=config)
    try:
        failures = 0
        while stop is None or not stop.is_set():
            try:
                msgs = await sub.fetch(batch, timeout=1.0)
            except TimeoutError:  # nats-py raises its own and asyncio's
                _raise_if_cancelled()
                continue
            except NatsError as exc:  # a reconnect or a JetStream hiccup: ask again shortly
                _raise_if_cancelled()
                log.warning("fetch_failed", durable=durable, error=repr(exc))
                await asyncio.sleep(0.5)
                continue
            _raise_if_cancelled()
            try:
                await apply([envelope_of(m) for m in msgs])
            except Exception as exc:
                failures += 1
                log.error("batch_failed", durable=durable, size=len(msgs), error=repr(exc))
                delay = min(0.2 * 2**failures, 5.0)
                await asyncio.gather(*(m.nak(delay=delay) for m in msgs), return_exceptions=True)
                await asyncio.sleep(delay)
                continue
            failures = 0
            for m in msgs:
                await m.ack()
    finally:
        # Messages fetched but never handed out would keep a drain waiting for ever.
        with contextlib.suppress(Exception):
            await sub.unsubscribe()


def _raise_if_cancelled() -> None:
    """nats-py's fetch can swallow a cancellation; the loop must still end on one."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


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
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._done.wait(), self._EXPIRES + 1.0)
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
