"""Webhooks: the result of each call POSTed to the customer's URL, signed and retried.

`submit` only queues the delivery and returns at once, so dialling never waits on a
customer's server; worker tasks post in the background. Each post carries
`X-Zvonar-Signature: sha256=<hex HMAC-SHA256 of the body under the secret>` and
`X-Zvonar-Delivery: <id>`, the same id on every retry (by default derived from the URL and
body, so a re-sent call result keeps its id and the receiver can drop duplicates).
Connection errors, timeouts, 429 and 5xx are retried with exponential backoff; other
answers end the delivery. When the queue is full, new deliveries are dropped and logged
rather than blocking the dialer.

Before each attempt the URL's host is resolved and every address checked
(zvonar_runtime.webhook_targets): one that is loopback, private, link-local or reserved
ends the delivery unsent, unless private targets are allowed. The post then goes to the
checked address itself (the name kept for the Host header and TLS), so a name that
resolves differently a moment later cannot redirect it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import structlog

from zvonar_runtime.webhook_targets import (
    Resolver,
    WebhookHostUnresolved,
    WebhookTargetRefused,
    checked_addresses,
    system_resolve,
)

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Zvonar-Signature"
DELIVERY_HEADER = "X-Zvonar-Delivery"
ATTEMPT_HEADER = "X-Zvonar-Attempt"
_RETRY_STATUSES = frozenset({408, 429})


class WebhookError(ValueError):
    """A webhook that cannot be sent (a URL that is not http or https)."""


@dataclass(frozen=True)
class Delivery:
    url: str
    secret: str
    payload: bytes
    delivery_id: str


def signature(secret: str, payload: bytes) -> str:
    """The value of the signature header: sha256=<hex HMAC-SHA256 of the body>."""
    digest = hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def delivery_id_of(url: str, payload: bytes) -> str:
    return hashlib.sha256(url.encode("utf-8") + b"\n" + payload).hexdigest()[:32]


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError(f"webhook URL must be http or https with a host, got {url!r}")


def _should_retry(status: int) -> bool:
    return status >= 500 or status in _RETRY_STATUSES


class WebhookSender:
    """Posts queued webhooks from background workers; `submit` never blocks."""

    def __init__(
        self,
        *,
        workers: int = 4,
        attempts: int = 5,
        base_delay_s: float = 0.5,
        max_delay_s: float = 30.0,
        timeout_s: float = 10.0,
        queue_size: int = 10_000,
        allow_private: bool = False,
        resolve: Resolver = system_resolve,
    ) -> None:
        if attempts < 1 or workers < 1:
            raise ValueError("a webhook sender needs at least one worker and one attempt")
        self.attempts = attempts
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self._timeout_s = timeout_s
        self._allow_private = allow_private
        self._resolve = resolve
        self._worker_count = workers
        self._queue: asyncio.Queue[Delivery] = asyncio.Queue(maxsize=queue_size)
        self._workers: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None
        self.delivered = 0
        self.failed = 0
        self.dropped = 0

    async def start(self) -> None:
        if self._workers:
            return
        # No proxy from the environment: the address checked is the one connected to. No
        # kept-alive connections either: the pool knows a connection by its address only,
        # and would carry another host's post over a TLS session verified for the first.
        self._client = httpx.AsyncClient(
            timeout=self._timeout_s, follow_redirects=False, trust_env=False,
            limits=httpx.Limits(max_keepalive_connections=0),
        )  # fmt: skip
        self._workers = [asyncio.create_task(self._work(), name=f"webhook-{n}")
                         for n in range(self._worker_count)]  # fmt: skip

    async def stop(self, drain_timeout_s: float = 5.0) -> None:
        """Lets queued deliveries finish for a while, then stops the workers."""
        if self._workers:
            try:  # asyncio.timeout, not 3.11's wait_for, which can swallow a stop
                async with asyncio.timeout(drain_timeout_s):
                    await self._queue.join()
            except TimeoutError:
                log.warning("webhook.stop_undelivered", pending=self._queue.qsize())
            for worker in self._workers:
                worker.cancel()
            await asyncio.gather(*self._workers, return_exceptions=True)
            self._workers = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def submit(
        self, url: str, secret: str, payload: bytes, *, delivery_id: str | None = None
    ) -> None:
        """Queues one POST of `payload` to `url`; raises WebhookError for a bad URL."""
        check_url(url)
        delivery = Delivery(url, secret, payload, delivery_id or delivery_id_of(url, payload))
        try:
            self._queue.put_nowait(delivery)
        except asyncio.QueueFull:
            self.dropped += 1
            log.error("webhook.dropped_queue_full", url=url, delivery=delivery.delivery_id)

    async def _work(self) -> None:
        while True:
            delivery = await self._queue.get()
            try:
                if await self._deliver(delivery):
                    self.delivered += 1
                else:
                    self.failed += 1
            except Exception:
                self.failed += 1
                log.exception("webhook.worker_error", delivery=delivery.delivery_id)
            finally:
                self._queue.task_done()

    def _backoff(self, attempt: int) -> float:
        return float(min(self.base_delay_s * 2 ** (attempt - 1), self.max_delay_s))

    async def _deliver(self, delivery: Delivery) -> bool:
        assert self._client is not None, "WebhookSender.start() was not awaited"
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(delivery.secret, delivery.payload),
            DELIVERY_HEADER: delivery.delivery_id,
        }
        reason = ""
        for attempt in range(1, self.attempts + 1):
            try:
                url, extra = await self._to_checked_address(delivery.url)
                response = await self._client.post(
                    url, content=delivery.payload,
                    headers={**headers, **extra, ATTEMPT_HEADER: str(attempt)},
                    extensions={"sni_hostname": httpx.URL(delivery.url).raw_host.decode()},
                )  # fmt: skip
            except WebhookHostUnresolved as exc:
                reason = str(exc)
            except WebhookTargetRefused as exc:
                log.warning("webhook.target_refused", url=delivery.url, reason=str(exc),
                            delivery=delivery.delivery_id)  # fmt: skip
                return False
            except httpx.TransportError as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                if response.is_success:
                    return True
                if not _should_retry(response.status_code):
                    status = response.status_code
                    log.warning("webhook.refused", url=delivery.url, status=status,
                                delivery=delivery.delivery_id)  # fmt: skip
                    return False
                reason = f"HTTP {response.status_code}"
            if attempt < self.attempts:
                log.info("webhook.retry", url=delivery.url, attempt=attempt, reason=reason)
                await asyncio.sleep(self._backoff(attempt))
        log.warning("webhook.gave_up", url=delivery.url, attempts=self.attempts,
                    reason=reason, delivery=delivery.delivery_id)  # fmt: skip
        return False

    async def _to_checked_address(self, url: str) -> tuple[httpx.URL, dict[str, str]]:
        """The URL with its host replaced by a checked address, and the Host header that
        keeps the name the customer gave."""
        addresses = await checked_addresses(
            url, allow_private=self._allow_private, resolve=self._resolve
        )
        original = httpx.URL(url)
        return original.copy_with(host=addresses[0]), {"Host": original.netloc.decode()}


__all__ = ["WebhookError", "WebhookSender", "check_url", "delivery_id_of", "signature"]
