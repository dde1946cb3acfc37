"""The webhook sender against a real HTTP receiver on loopback and a real database (SQLite
and PostgreSQL): posts from the outbox signed per Standard Webhooks, the same id on every
attempt, exponential back-off, given up 24 h after the result; refused when the target is
not a public address (the senders that deliver to loopback here allow private targets, as
ZVONAR_WEBHOOK_ALLOW_PRIVATE=1 does). Time is a clock the test moves: no waiting out the
back-off."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from standardwebhooks import Webhook

from zvonar_contracts.keys import webhook_id_of
from zvonar_dialer.adapters import schema, store
from zvonar_dialer.adapters.webhooks import WebhookSender
from zvonar_dialer.service_layer.ports import DeliveryRow, NewDelivery
from zvonar_runtime.db import Database

pytestmark = pytest.mark.integration

SECRET = "s3cr3t"
BODY = json.dumps({"call_id": "1000001-0-79160000009-1", "outcome": "answered"}).encode()
T0 = 1_900_000_000.0
DAY = 24 * 3600.0


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A tiny HTTP/1.1 server: answers each request with the next scripted status."""

    statuses: list[int] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (line.partition(":") for line in head[1:] if line)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.posts.append(Post(head[0].split(" ")[1], headers, body))
        status = self.statuses.pop(0) if self.statuses else 200
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    target = Receiver()
    server = await asyncio.start_server(target.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    target.url = f"http://127.0.0.1:{port}/hooks/calls"
    yield target
    server.close()
    await server.wait_closed()


@pytest.fixture(params=["sqlite", "postgres"])
def db(
    request: pytest.FixtureRequest, tmp_path: Path, pg_database_factory: Callable[[], str]
) -> Iterator[Database]:
    url = pg_database_factory() if request.param == "postgres" else None
    database = Database.from_settings(url, tmp_path / "dialer.sqlite3", "dialer", workers=4)
    database.run_sync(schema.create_schema)
    yield database
    database.close()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Secrets:
    def __init__(self) -> None:
        self.sealed = {"ref-1": SECRET}

    async def get(self, ref: str) -> str:
        if ref not in self.sealed:
            raise LookupError(ref)
        return self.sealed[ref]


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_sender(db: Database, clock: Clock, **options: Any) -> WebhookSender:
    options = {"allow_private": True, "timeout_s": 2.0, "jitter": lambda: 1.0, **options}
    return WebhookSender(db, Secrets(), asyncio.Event(), now=clock, **options)


@pytest.fixture
async def sender(db: Database, clock: Clock) -> AsyncIterator[WebhookSender]:
    webhooks = make_sender(db, clock)
    await webhooks.start()
    yield webhooks
    await webhooks.stop()


async def queue(db: Database, url: str, *, n: int = 0, secret_ref: str | None = "ref-1") -> str:
    """One delivery due at T0; its webhook id."""
    webhook_id = webhook_id_of(1000001, "CallCompleted", f"call-{n}")
    row = NewDelivery(
        webhook_id, 1000001, "acc", "CallCompleted", f"call-{n}", url, secret_ref, BODY, T0
    )
    await db.run(lambda cur: store.webhook_add_many(cur, [row]))
    return webhook_id


async def log_of(db: Database) -> list[DeliveryRow]:
    rows, _ = await db.run(lambda cur: store.webhook_page(cur, 1000001, "acc", None, 1, 200))
    return rows


def counted(outcome: str) -> float:
    value = REGISTRY.get_sample_value("zvonar_webhook_deliveries_total", {"outcome": outcome})
    return value or 0.0


async def test_a_post_is_signed_per_standard_webhooks(
    db: Database, receiver: Receiver, sender: WebhookSender, clock: Clock
) -> None:
    webhook_id = await queue(db, receiver.url)
    delivered = counted("delivered")
    assert await sender.send_due() == 1
    [post] = receiver.posts
    assert post.path == "/hooks/calls" and post.body == BODY
    assert post.headers["content-type"] == "application/json"
    assert post.headers["webhook-id"] == webhook_id
    assert post.headers["webhook-timestamp"] == str(int(T0))
    # `verify` checks the timestamp against the real clock: the signature as of T0.
    at = dt.datetime.fromtimestamp(T0, dt.UTC)
    expected = Webhook(SECRET.encode()).sign(webhook_id, at, BODY.decode())
    assert post.headers["webhook-signature"] == expected
    [row] = await log_of(db)
    assert (row.state, row.attempts, row.last_status, row.delivered_at) == (
        "delivered",
        1,
        200,
        T0,
    )
    assert row.next_attempt_at is None
    assert counted("delivered") == delivered + 1
    assert await sender.send_due() == 0  # nothing is posted twice


async def test_a_receiver_failing_twice_gets_the_post_on_the_third_attempt_after_backoff(
    db: Database, receiver: Receiver, sender: WebhookSender, clock: Clock
) -> None:
    receiver.statuses = [500, 503]
    webhook_id = await queue(db, receiver.url)
    retried = counted("retried")
    assert await sender.send_due() == 1
    [row] = await log_of(db)
    assert (row.state, row.attempts, row.last_status, row.last_error) == (
        "pending",
        1,
        500,
        "HTTP 500",
    )
    assert row.next_attempt_at == T0 + 5.0  # the first wait (jitter at its top)
    assert await sender.send_due() == 0  # not due yet
    clock.now = T0 + 5.0
    assert await sender.send_due() == 1
    [row] = await log_of(db)
    assert (row.attempts, row.last_status, row.next_attempt_at) == (2, 503, T0 + 5.0 + 10.0)
    clock.now = T0 + 15.0
    assert await sender.send_due() == 1
    [row] = await log_of(db)
    assert (row.state, row.attempts, row.last_status) == ("delivered", 3, 200)
    assert counted("retried") == retried + 2
    assert {p.headers["webhook-id"] for p in receiver.posts} == {webhook_id}
    stamps = [p.headers["webhook-timestamp"] for p in receiver.posts]
    assert stamps == [str(int(T0)), str(int(T0 + 5)), str(int(T0 + 15))]


async def test_429_and_connection_errors_are_retried_and_a_client_error_is_not(
    db: Database, receiver: Receiver, sender: WebhookSender, clock: Clock
) -> None:
    receiver.statuses = [429, 404]
    await queue(db, receiver.url, n=1)
    await sender.send_due()
    [row] = await log_of(db)
    assert (row.state, row.last_status) == ("pending", 429)
    clock.now += 10
    failed = counted("failed")
    await sender.send_due()
    [row] = await log_of(db)
    assert (row.state, row.attempts, row.last_status, row.next_attempt_at) == (
        "failed",
        2,
        404,
        None,
    )
    assert counted("failed") == failed + 1
    await queue(db, "http://127.0.0.1:9/closed", n=2)
    await sender.send_due()
    closed = next(r for r in await log_of(db) if r.call_id == "call-2")
    assert closed.state == "pending" and closed.last_status is None
    assert closed.last_error and "Connect" in closed.last_error


async def test_a_receiver_that_keeps_failing_is_dropped_24_hours_after_the_result(
    db: Database, receiver: Receiver, sender: WebhookSender, clock: Clock
) -> None:
    receiver.statuses = [503] * 100
    await queue(db, receiver.url)
    dropped = counted("dropped")
    waits: list[float] = []
    while True:
        await sender.send_due()
        [row] = await log_of(db)
        if row.state != "pending":
            break
        assert row.next_attempt_at is not None
        waits.append(row.next_attempt_at - clock.now)
        clock.now = row.next_attempt_at
    assert row.state == "dropped" and row.last_status == 503
    assert clock.now == T0 + DAY  # the last attempt is at the deadline itself
    assert waits[:4] == [5.0, 10.0, 20.0, 40.0] and max(waits) == 3600.0
    assert row.attempts == len(receiver.posts) == len(waits) + 1
    assert counted("dropped") == dropped + 1


async def test_many_due_posts_go_out_together_without_waiting_on_an_unreachable_one(
    db: Database, receiver: Receiver, clock: Clock
) -> None:
    sender = make_sender(db, clock, concurrency=8)
    await sender.start()
    try:
        for n in range(20):
            await queue(db, "http://127.0.0.1:9/closed", n=n)
        for n in range(20, 30):
            await queue(db, receiver.url, n=n)
        while await sender.send_due():
            pass
    finally:
        await sender.stop()
    rows = await log_of(db)
    assert sorted(r.state for r in rows) == ["delivered"] * 10 + ["pending"] * 20
    assert len(receiver.posts) == 10


async def test_a_campaign_without_a_secret_gets_unsigned_posts(
    db: Database, receiver: Receiver, sender: WebhookSender
) -> None:
    await queue(db, receiver.url, secret_ref=None)
    await sender.send_due()
    [post] = receiver.posts
    assert "webhook-signature" not in post.headers and post.headers["webhook-id"]


async def test_a_secret_that_cannot_be_read_posts_nothing_and_is_tried_again(
    db: Database, receiver: Receiver, sender: WebhookSender
) -> None:
    await queue(db, receiver.url, secret_ref="lost")
    await sender.send_due()
    [row] = await log_of(db)
    assert (row.state, row.last_error) == ("pending", "the secret cannot be read")
    assert receiver.posts == []


async def test_a_post_claimed_by_a_sender_that_died_is_taken_again_after_its_lease(
    db: Database, receiver: Receiver, sender: WebhookSender, clock: Clock
) -> None:
    await queue(db, receiver.url)
    # Another sender claimed it and was killed mid-post: nothing was recorded.
    await db.run(lambda cur: store.webhook_claim_due(cur, T0, 10, 30.0))
    assert await sender.send_due() == 0
    clock.now = T0 + 30.0
    assert await sender.send_due() == 1
    [row] = await log_of(db)
    assert (row.state, row.attempts) == ("delivered", 1)


# --- targets that are not public (SSRF) ---------------------------------------------------


def resolving(names: dict[str, list[str]]) -> Callable[[str, int], Awaitable[list[str]]]:
    """A resolver port that knows only `names` (what DNS answers at delivery time)."""

    async def resolve(host: str, port: int) -> list[str]:
        if host not in names:
            raise OSError(f"{host} does not resolve")
        return names[host]

    return resolve


async def test_a_loopback_url_gets_no_post_unless_private_targets_are_allowed(
    db: Database, receiver: Receiver, clock: Clock
) -> None:
    sender = make_sender(db, clock, allow_private=False)
    await queue(db, receiver.url)
    try:
        await sender.send_due()
    finally:
        await sender.stop()
    [row] = await log_of(db)
    assert row.state == "failed" and "not a public address" in (row.last_error or "")
    assert receiver.posts == []


async def test_a_name_that_resolves_private_at_delivery_time_gets_no_post(
    db: Database, receiver: Receiver, clock: Clock
) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    # Public when the campaign was created, perhaps; loopback (and a public one) now.
    dns = resolving({"hooks.customer.test": ["93.184.215.14", "127.0.0.1"]})
    sender = make_sender(db, clock, allow_private=False, resolve=dns)
    await queue(db, f"http://hooks.customer.test:{port}/hooks/calls")
    try:
        await sender.send_due()
    finally:
        await sender.stop()
    [row] = await log_of(db)
    assert row.state == "failed"
    assert receiver.posts == []


async def test_a_name_that_does_not_resolve_yet_is_tried_again(
    db: Database, receiver: Receiver, clock: Clock
) -> None:
    sender = make_sender(db, clock, resolve=resolving({}))
    await queue(db, "http://hooks.customer.test/hooks/calls")
    try:
        await sender.send_due()
    finally:
        await sender.stop()
    [row] = await log_of(db)
    assert row.state == "pending" and "does not resolve" in (row.last_error or "")


async def test_the_post_goes_to_the_address_checked_with_the_name_as_host(
    db: Database, receiver: Receiver, clock: Clock
) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    # The name exists only in this resolver: a post that arrives went to the address it
    # gave, not to a second look-up of the name.
    dns = resolving({"hooks.customer.test": ["127.0.0.1"]})
    sender = make_sender(db, clock, resolve=dns)
    await queue(db, f"http://hooks.customer.test:{port}/hooks/calls")
    try:
        await sender.send_due()
    finally:
        await sender.stop()
    [post] = receiver.posts
    assert post.headers["host"] == f"hooks.customer.test:{port}"
    assert post.path == "/hooks/calls" and post.body == BODY


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], what: str, timeout: float = 30.0
) -> None:
    """Wait (polling) until `check()` holds; fails after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_a_slow_receiver_holds_one_slot_while_the_others_post_on(
    db: Database, receiver: Receiver, clock: Clock
) -> None:
    release = asyncio.Event()
    held: list[bytes] = []

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(await reader.readuntil(b"\r\n\r\n"))
        await release.wait()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(slow, "127.0.0.1", 0)
    slow_url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/slow"
    wakeup = asyncio.Event()
    sender = WebhookSender(
        db, Secrets(), wakeup, now=clock, allow_private=True, timeout_s=60.0, concurrency=2
    )
    running = asyncio.create_task(sender.run())
    try:
        await queue(db, slow_url, n=0)
        wakeup.set()
        await eventually(lambda: bool(held), "the slow post in flight")
        # Results recorded while the slow post is in flight: the free slot takes them.
        for n in range(1, 6):
            await queue(db, receiver.url, n=n)
        wakeup.set()
        await eventually(lambda: len(receiver.posts) == 5, "the five other posts")
        release.set()

        async def all_delivered() -> bool:
            return {r.state for r in await log_of(db)} == {"delivered"}

        await eventually(all_delivered, "the slow post delivered too")
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        server.close()
        await server.wait_closed()
    assert len(await log_of(db)) == 6
