"""Stats queries over NATS request-reply: `stats.query.<Type>`, queue group `stats`."""

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
                await msg.respond(encode(reply))

    subscription = await nc.subscribe(
        f"{subjects.STATS_QUERY_PREFIX}.>", queue=subjects.STATS_QUERIES_QUEUE, cb=receive
    )
    await nc.flush()  # the server knows the subscription before anyone is told "ready"
    return subscription


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
