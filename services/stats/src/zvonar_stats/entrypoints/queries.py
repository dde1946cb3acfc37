"""Stats queries over NATS request-reply: `stats.query.<Type>`, queue group `stats`.

A reply that would exceed the server's max payload (with the headers it echoes) is never
sent: nats-server would close the connection, and with it every account's queries. The one
query gets a `too_large` error instead, and the service goes on."""

from __future__ import annotations

import asyncio

import msgspec
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from zvonar_contracts import subjects
from zvonar_contracts.codec import decode_query, encode
from zvonar_contracts.queries import QueryError, QueryReply
from zvonar_runtime.correlation import correlation_scope
from zvonar_runtime.metrics import MESSAGES_TOO_LARGE
from zvonar_runtime.payload import MessageTooLarge, check_fits
from zvonar_stats.service_layer.queries import QueryService

log = structlog.get_logger("zvonar.stats.queries")


async def serve_queries(nc: Client, service: QueryService) -> Subscription:
    """Each query is answered in a task of its own: one waiting for a position must not
    hold up the others (nats-py runs a subscription's callbacks one at a time)."""
    running: set[asyncio.Task[None]] = set()

    async def receive(msg: Msg) -> None:
        task = asyncio.create_task(answer(msg))
        running.add(task)
        task.add_done_callback(running.discard)

    async def answer(msg: Msg) -> None:
        headers = msg.headers or {}
        with correlation_scope(headers.get(subjects.CORRELATION_HEADER)):
            reply = await _reply_to(msg.data, service)
            if msg.reply:
                await msg.respond(_fitting(nc, msg, reply))

    subscription = await nc.subscribe(
        f"{subjects.STATS_QUERY_PREFIX}.>", queue=subjects.STATS_QUERIES_QUEUE, cb=receive
    )
    await nc.flush()  # the server knows the subscription before anyone is told "ready"
    return subscription


def _fitting(nc: Client, msg: Msg, reply: QueryReply) -> bytes:
    """The encoded reply, or a `too_large` error in its place when it cannot be sent."""
    payload = encode(reply)
    try:
        check_fits(nc, msg.reply, payload, msg.headers)
    except MessageTooLarge as exc:
        MESSAGES_TOO_LARGE.labels("reply").inc()
        log.error("reply_too_large", subject=msg.subject, size=exc.size, limit=exc.limit)
        message = (
            f"the answer ({exc.size:,} bytes) is larger than can be sent ({exc.limit:,}); "
            "ask for fewer rows (a smaller per_page)"
        )
        return encode(QueryError(code="too_large", message=message))
    return payload


async def _reply_to(data: bytes, service: QueryService) -> QueryReply:
    try:
        query = decode_query(data)
    except msgspec.DecodeError as exc:
        return QueryError(code="validation", message=str(exc))
    try:
        return await service.handle(query)
    except Exception:
        log.exception("query_failed", query=type(query).__name__)
        raise
