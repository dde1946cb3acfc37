"""Webhooks: each call result POSTed to the customer's URL, signed per Standard Webhooks
(https://www.standardwebhooks.com/), from a durable outbox (docs/webhooks.md).

The call result and its delivery row (table `webhook_deliveries`) are written in one
transaction; `WebhookSender.run` posts the rows that are due. Each post carries

- `webhook-id`: the delivery's id, the same on every attempt (the receiver drops repeats);
- `webhook-timestamp`: the attempt's time, in seconds since the epoch;
- `webhook-signature`: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, made by the
  `standardwebhooks` package. A campaign without a secret gets no signature.

The HMAC key of a secret (`signing_key`): a Standard Webhooks secret, `whsec_` + base64, is
the bytes it encodes; any other secret (every campaign created before, or a customer's own
string) is its UTF-8 bytes — the receiver verifies with `Webhook(secret.encode())`.

A 2xx answer delivers; connection errors, timeouts, 408, 429 and 5xx are tried again with
exponential back-off and jitter until 24 h after the result (then the delivery is dropped);
any other answer, or a target that is not a public address, fails it at once.

Before each attempt the URL's host is resolved and every address checked
(zvonar_runtime.webhook_targets): one that is loopback, private, link-local or reserved
fails the delivery unsent, unless private targets are allowed. The post then goes to the
checked address itself (the name kept for the Host header and TLS), so a name that
resolves differently a moment later cannot redirect it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime as dt
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import structlog
from standardwebhooks import Webhook

from zvonar_contracts.dialer import MAX_DELIVERY_ERROR
from zvonar_dialer.adapters import store
from zvonar_dialer.metrics import WEBHOOK_DELIVERIES
from zvonar_dialer.service_layer.ports import SecretReader
from zvonar_runtime.db import Database
from zvonar_runtime.shutdown import raise_if_stopping
from zvonar_runtime.webhook_targets import (
    Resolver,
    WebhookHostUnresolved,
    WebhookTargetRefused,
    checked_addresses,
    system_resolve,
)

log = structlog.get_logger("zvonar.dialer.webhooks")

DELIVERIES = WEBHOOK_DELIVERIES

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"
_RETRY_STATUSES = frozenset({408, 429})
# How long the sender waits at most before looking for due rows again when told nothing.
IDLE_WAIT_S = 5.0


class WebhookError(ValueError):
    """A webhook that cannot be sent (a URL that is not http or https)."""


def signing_key(secret: str) -> bytes:
    """The HMAC key of a campaign's secret: `whsec_` + base64 is the bytes it encodes (as
    `standardwebhooks.Webhook(secret)` reads it); anything else is its UTF-8 bytes."""
    if secret.startswith(SECRET_PREFIX):
        encoded = secret.removeprefix(SECRET_PREFIX)
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if key:
            return key
    return secret.encode("utf-8")


def signed_headers(secret: str | None, webhook_id: str, at: float, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt at `at` (epoch seconds); without a
    secret (none given) no signature."""
    timestamp = int(at)
    headers = {ID_HEADER: webhook_id, TIMESTAMP_HEADER: str(timestamp)}
    if secret:
        when = dt.datetime.fromtimestamp(timestamp, dt.UTC)
        signature = Webhook(signing_key(secret)).sign(webhook_id, when, body.decode("utf-8"))
        headers[SIGNATURE_HEADER] = signature
    return headers


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError(f"webhook URL must be http or https with a host, got {url!r}")


def _should_retry(status: int) -> bool:
    return status >= 500 or status in _RETRY_STATUSES


@dataclass(frozen=True)
class Attempt:
    """What one post came to: delivered, to be tried again, or refused for good."""

    delivered: bool
    retry: bool
    status: int | None = None
    error: str | None = None


class WebhookSender:
    """Posts the due rows of the webhook outbox; after each attempt the row says what came
    of it and when the next one is due."""

    def __init__(
        self,
        db: Database,
        secrets: SecretReader,
        wakeup: asyncio.Event,
        *,
        timeout_s: float = 5.0,
        base_delay_s: float = 5.0,
        max_delay_s: float = 3600.0,
        give_up_after_s: float = 24 * 3600.0,
        concurrency: int = 16,
        allow_private: bool = False,
        resolve: Resolver = system_resolve,
        now: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if concurrency < 1 or base_delay_s <= 0 or max_delay_s < base_delay_s:
            raise ValueError("a webhook sender needs concurrency >= 1 and 0 < base <= max delay")
        self._db = db
        self._secrets = secrets
        self._wakeup = wakeup
        self._timeout_s = timeout_s
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.give_up_after_s = give_up_after_s
        self._concurrency = concurrency
        self._allow_private = allow_private
        self._resolve = resolve
        self._now = now
        self._jitter = jitter
        # A claimed row is someone's for this long: resolving, connecting and the answer.
        self._lease_s = 2 * timeout_s + 10.0
        self._client: httpx.AsyncClient | None = None

    def backoff(self, attempts: int) -> float:
        """The wait after the `attempts`-th failed attempt: doubling from the base up to the
        maximum, each wait somewhere in its upper half (jitter: receivers that came back
        are not hit by every sender at once)."""
        ceiling = min(self.base_delay_s * 2.0 ** (attempts - 1), self.max_delay_s)
        return ceiling * (0.5 + 0.5 * self._jitter())

    async def start(self) -> None:
        if self._client is None:
            # No proxy from the environment: the address checked is the one connected to.
            # No kept-alive connections either: the pool knows a connection by its address
            # only, and would carry another host's post over a TLS session verified for
            # the first.
            self._client = httpx.AsyncClient(
                timeout=self._timeout_s,
                follow_redirects=False,
                trust_env=False,
                limits=httpx.Limits(max_keepalive_connections=0),
            )

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def run(self) -> None:
        """Keep up to `concurrency` posts in flight: a slot that frees takes the next due
        row, so one slow receiver holds one slot, not a whole batch."""
        await self.start()
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while True:
                raise_if_stopping()
                free = self._concurrency - len(in_flight)
                rows: list[store.DueDelivery] = []
                if free > 0:
                    try:
                        rows = await self._claim(free)
                    except Exception:
                        log.exception("webhook_claim_failed")
                for row in rows:
                    in_flight.add(asyncio.create_task(self.post(row), name="webhook-post"))
                if rows and len(rows) == free:
                    continue  # every slot taken: wait for one below
                await self._idle(in_flight)
        finally:
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)
            await self.stop()

    async def _idle(self, in_flight: set[asyncio.Task[None]]) -> None:
        """Wait for a post to end, new rows (the wakeup) or, with a slot free, the next
        row's due time."""
        wait = IDLE_WAIT_S
        if len(in_flight) < self._concurrency:
            with contextlib.suppress(Exception):
                due = await self._db.run(store.webhook_next_due)
                if due is not None:
                    wait = min(max(due - self._now(), 0.01), IDLE_WAIT_S)
        waker = asyncio.create_task(self._wakeup.wait())
        try:
            done, _ = await asyncio.wait(
                {*in_flight, waker}, timeout=wait, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waker.cancel()
        in_flight.difference_update(done)
        self._wakeup.clear()

    async def _claim(self, limit: int) -> list[store.DueDelivery]:
        now = self._now()
        return await self._db.run(
            lambda cur: store.webhook_claim_due(cur, now, limit, self._lease_s)
        )

    async def send_due(self) -> int:
        """Post every row due now, a few batches' worth at most, and wait for the answers;
        how many were tried (one round of `run`, for tests and tools)."""
        await self.start()
        rows = await self._claim(self._concurrency * 4)
        gate = asyncio.Semaphore(self._concurrency)

        async def one(row: store.DueDelivery) -> None:
            async with gate:
                await self.post(row)

        await asyncio.gather(*(one(row) for row in rows))
        return len(rows)

    async def post(self, row: store.DueDelivery) -> None:
        """One attempt at a claimed row, and its outcome recorded."""
        try:
            attempt = await self._attempt(row)
        except Exception as exc:  # a fault of ours: tried again, said in the log
            log.exception("webhook_attempt_error", webhook_id=row.webhook_id)
            attempt = Attempt(delivered=False, retry=True, error=repr(exc))
        try:
            await self._record(row, attempt)
        except Exception:  # the row stays claimed: tried again once its lease is over
            log.exception("webhook_record_failed", webhook_id=row.webhook_id)

    async def _record(self, row: store.DueDelivery, attempt: Attempt) -> None:
        now = self._now()
        error = None if attempt.error is None else attempt.error[:MAX_DELIVERY_ERROR]
        deadline = row.created_at + self.give_up_after_s
        next_at: float | None = None
        if attempt.delivered:
            state, outcome = "delivered", "delivered"
        elif not attempt.retry:
            state, outcome = "failed", "failed"
        elif now >= deadline:
            state, outcome = "dropped", "dropped"
        else:
            # The last try comes at the deadline itself.
            state, outcome = "pending", "retried"
            next_at = min(now + self.backoff(row.attempts + 1), deadline)
        await self._db.run(
            lambda cur: store.webhook_attempted(
                cur,
                row.id,
                state=state,
                status=attempt.status,
                error=error,
                next_attempt_at=next_at,
                delivered_at=now if attempt.delivered else None,
            )
        )
        DELIVERIES.labels(outcome).inc()
        fields = {
            "webhook_id": row.webhook_id,
            "campaign_id": row.campaign_id,
            "attempt": row.attempts + 1,
            "status": attempt.status,
            "error": error,
        }
        if outcome == "delivered":
            log.debug("webhook_delivered", **fields)
        elif outcome == "retried":
            log.info("webhook_retry", next_in_s=round((next_at or now) - now, 1), **fields)
        else:
            log.warning(f"webhook_{outcome}", url=row.url, **fields)

    async def _attempt(self, row: store.DueDelivery) -> Attempt:
        assert self._client is not None, "WebhookSender.start() was not awaited"
        secret: str | None = None
        if row.secret_ref is not None:
            try:
                secret = await self._secrets.get(row.secret_ref)
            except LookupError as exc:
                # A key that differs from the gateway's, a lost bucket: nothing is posted
                # that the customer would have to refuse; an operator may yet repair it.
                log.error(
                    "webhook_secret_unreadable",
                    campaign_id=row.campaign_id,
                    secret_ref=row.secret_ref,
                    error=str(exc),
                )
                return Attempt(delivered=False, retry=True, error="the secret cannot be read")
        try:
            check_url(row.url)
            url, extra = await self._to_checked_address(row.url)
            headers = {
                "Content-Type": "application/json",
                **signed_headers(secret, row.webhook_id, self._now(), row.payload),
                **extra,
            }
            response = await self._client.post(
                url,
                content=row.payload,
                headers=headers,
                extensions={"sni_hostname": httpx.URL(row.url).raw_host.decode()},
            )
        except WebhookHostUnresolved as exc:  # DNS may be ready later
            return Attempt(delivered=False, retry=True, error=str(exc))
        except (WebhookTargetRefused, WebhookError) as exc:
            return Attempt(delivered=False, retry=False, error=str(exc))
        except httpx.TransportError as exc:
            return Attempt(delivered=False, retry=True, error=f"{type(exc).__name__}: {exc}")
        status = response.status_code
        if response.is_success:
            return Attempt(delivered=True, retry=False, status=status)
        return Attempt(
            delivered=False, retry=_should_retry(status), status=status, error=f"HTTP {status}"
        )

    async def _to_checked_address(self, url: str) -> tuple[httpx.URL, dict[str, str]]:
        """The URL with its host replaced by a checked address, and the Host header that
        keeps the name the customer gave."""
        addresses = await checked_addresses(
            url, allow_private=self._allow_private, resolve=self._resolve
        )
        original = httpx.URL(url)
        return original.copy_with(host=addresses[0]), {"Host": original.netloc.decode()}


__all__ = [
    "DELIVERIES",
    "Attempt",
    "WebhookError",
    "WebhookSender",
    "check_url",
    "signed_headers",
    "signing_key",
]
