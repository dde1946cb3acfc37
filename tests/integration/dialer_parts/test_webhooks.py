"""Webhooks against a real HTTP receiver on loopback: signed, retried, never blocking; and
refused when the target is not a public address (the receiver here is on loopback, so the
senders that deliver to it allow private targets, as ZVONAR_WEBHOOK_ALLOW_PRIVATE=1 does)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from zvonar_dialer.adapters.webhooks import WebhookError, WebhookSender

pytestmark = pytest.mark.integration

SECRET = "s3cr3t"
BODY = json.dumps({"call_id": "1000001-0-79160000009-1", "outcome": "answered"}).encode()


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
        headers = {k.strip().lower(): v.strip()
                   for k, _, v in (line.partition(":") for line in head[1:] if line)}  # fmt: skip
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.posts.append(Post(head[0].split(" ")[1], headers, body))
        status = self.statuses.pop(0) if self.statuses else 200
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                     .encode())  # fmt: skip
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


@pytest.fixture
async def sender() -> AsyncIterator[WebhookSender]:
    webhooks = WebhookSender(base_delay_s=0.05, max_delay_s=0.2, timeout_s=2.0, allow_private=True)
    await webhooks.start()
    yield webhooks
    await webhooks.stop(drain_timeout_s=1.0)


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_a_post_is_signed_with_the_secret(receiver: Receiver, sender: WebhookSender) -> None:
    sender.submit(receiver.url, SECRET, BODY)
    await until(lambda: sender.delivered == 1)
    [post] = receiver.posts
    expected = hmac.new(SECRET.encode(), post.body, hashlib.sha256).hexdigest()
    assert post.path == "/hooks/calls" and post.body == BODY
    assert post.headers["x-zvonar-signature"] == f"sha256={expected}"
    assert post.headers["content-type"] == "application/json"
    assert post.headers["x-zvonar-delivery"]


async def test_a_receiver_failing_twice_gets_the_post_on_the_third_attempt(
    receiver: Receiver, sender: WebhookSender
) -> None:
    receiver.statuses = [500, 500]
    sender.submit(receiver.url, SECRET, BODY)
    await until(lambda: sender.delivered == 1)
    assert [p.headers["x-zvonar-attempt"] for p in receiver.posts] == ["1", "2", "3"]
    assert len({p.headers["x-zvonar-delivery"] for p in receiver.posts}) == 1
    assert {p.body for p in receiver.posts} == {BODY}


async def test_429_is_retried_and_a_client_error_is_not(
    receiver: Receiver, sender: WebhookSender
) -> None:
    receiver.statuses = [429, 200, 404]
    sender.submit(receiver.url, SECRET, BODY)
    await until(lambda: sender.delivered == 1)
    sender.submit(receiver.url, SECRET, b'{"other": 1}')
    await until(lambda: sender.failed == 1)
    assert len(receiver.posts) == 3


async def test_a_receiver_that_keeps_failing_is_given_up_after_the_last_attempt(
    receiver: Receiver,
) -> None:
    webhooks = WebhookSender(attempts=3, base_delay_s=0.01, allow_private=True)
    await webhooks.start()
    receiver.statuses = [503] * 10
    webhooks.submit(receiver.url, SECRET, BODY)
    await until(lambda: webhooks.failed == 1)
    await webhooks.stop()
    assert len(receiver.posts) == 3


async def test_an_unreachable_receiver_is_retried_without_blocking_the_caller(
    receiver: Receiver,
) -> None:
    webhooks = WebhookSender(attempts=2, base_delay_s=0.01, timeout_s=1.0, allow_private=True)
    await webhooks.start()
    started = time.monotonic()
    for n in range(50):
        webhooks.submit("http://127.0.0.1:9/closed", SECRET, f'{{"n": {n}}}'.encode())
    webhooks.submit(receiver.url, SECRET, BODY)
    assert time.monotonic() - started < 0.1  # submit only queues
    await until(lambda: webhooks.failed == 50 and webhooks.delivered == 1, timeout=10)
    await webhooks.stop()


async def test_only_http_urls_are_accepted(sender: WebhookSender) -> None:
    for url in ["ftp://example.com/x", "file:///etc/passwd", "not a url", "https://"]:
        with pytest.raises(WebhookError, match="http or https"):
            sender.submit(url, SECRET, BODY)


async def test_stop_waits_for_queued_deliveries(receiver: Receiver) -> None:
    webhooks = WebhookSender(workers=1, allow_private=True)
    await webhooks.start()
    for n in range(5):
        webhooks.submit(receiver.url, SECRET, f'{{"n": {n}}}'.encode())
    await webhooks.stop()
    assert len(receiver.posts) == 5 and webhooks.delivered == 5


# --- targets that are not public (SSRF) ---------------------------------------------------


def resolving(names: dict[str, list[str]]) -> Callable[[str, int], Awaitable[list[str]]]:
    """A resolver port that knows only `names` (what DNS answers at delivery time)."""

    async def resolve(host: str, port: int) -> list[str]:
        if host not in names:
            raise OSError(f"{host} does not resolve")
        return names[host]

    return resolve


async def test_a_loopback_url_gets_no_post_unless_private_targets_are_allowed(
    receiver: Receiver,
) -> None:
    webhooks = WebhookSender(attempts=3, base_delay_s=0.01)
    await webhooks.start()
    try:
        webhooks.submit(receiver.url, SECRET, BODY)
        await until(lambda: webhooks.failed == 1)
    finally:
        await webhooks.stop()
    assert receiver.posts == []


async def test_a_name_that_resolves_private_at_delivery_time_gets_no_post(
    receiver: Receiver,
) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    # Public when the campaign was created, perhaps; loopback (and a public one) now.
    dns = resolving({"hooks.customer.test": ["93.184.215.14", "127.0.0.1"]})
    webhooks = WebhookSender(attempts=3, base_delay_s=0.01, resolve=dns)
    await webhooks.start()
    try:
        webhooks.submit(f"http://hooks.customer.test:{port}/hooks/calls", SECRET, BODY)
        await until(lambda: webhooks.failed == 1)
    finally:
        await webhooks.stop()
    assert receiver.posts == []


async def test_the_post_goes_to_the_address_checked_with_the_name_as_host(
    receiver: Receiver,
) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    # The name exists only in this resolver: a post that arrives went to the address it
    # gave, not to a second look-up of the name.
    dns = resolving({"hooks.customer.test": ["127.0.0.1"]})
    webhooks = WebhookSender(base_delay_s=0.01, allow_private=True, resolve=dns)
    await webhooks.start()
    try:
        webhooks.submit(f"http://hooks.customer.test:{port}/hooks/calls", SECRET, BODY)
        await until(lambda: webhooks.delivered == 1)
    finally:
        await webhooks.stop()
    [post] = receiver.posts
    assert post.headers["host"] == f"hooks.customer.test:{port}"
    assert post.path == "/hooks/calls" and post.body == BODY
