"""Webhook posts are signed per Standard Webhooks: `standardwebhooks` verifies them, with a
`whsec_` secret as given and with any other secret (every campaign made before) as its
UTF-8 bytes; the signature covers the id and the timestamp, so neither can be changed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from zvonar_contracts.keys import webhook_id_of
from zvonar_dialer.adapters.webhooks import (
    WebhookSender,
    signed_headers,
    signing_key,
)

BODY = json.dumps({"call_id": "1000001-0-79160000009-1", "outcome": "answered"}).encode()
WHSEC = "whsec_" + base64.b64encode(bytes(range(32))).decode()


def test_a_whsec_secret_is_verified_as_given() -> None:
    headers = signed_headers(WHSEC, "msg_1", time.time(), BODY)
    assert Webhook(WHSEC).verify(BODY, headers) == json.loads(BODY)
    assert signing_key(WHSEC) == bytes(range(32))


def test_an_unpadded_whsec_secret_reads_as_the_package_reads_it() -> None:
    unpadded = "whsec_" + base64.b64encode(b"0123456789abcdefghij").decode().rstrip("=")
    headers = signed_headers(unpadded, "msg_1", time.time(), BODY)
    Webhook(unpadded).verify(BODY, headers)


@pytest.mark.parametrize("secret", ["s3cret", "пароль 🔑", "whsec_not base64!", "whsec_"])
def test_any_other_secret_is_the_key_as_utf8_bytes(secret: str) -> None:
    headers = signed_headers(secret, "msg_1", time.time(), BODY)
    Webhook(secret.encode()).verify(BODY, headers)
    as_whsec = "whsec_" + base64.b64encode(secret.encode()).decode()
    Webhook(as_whsec).verify(BODY, headers)


def test_the_signature_is_hmac_sha256_of_id_timestamp_and_body() -> None:
    headers = signed_headers("s3cret", "msg_abc", 1_700_000_000.7, BODY)
    assert headers["webhook-id"] == "msg_abc"
    assert headers["webhook-timestamp"] == "1700000000"
    signed = b"msg_abc.1700000000." + BODY
    digest = hmac.new(b"s3cret", signed, hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(digest).decode()


def test_a_changed_body_id_or_timestamp_or_another_secret_fails_verification() -> None:
    now = time.time()
    headers = signed_headers(WHSEC, "msg_1", now, BODY)
    webhook = Webhook(WHSEC)
    with pytest.raises(WebhookVerificationError):
        webhook.verify(BODY.replace(b"answered", b"no_answer"), headers)
    with pytest.raises(WebhookVerificationError):
        webhook.verify(BODY, {**headers, "webhook-id": "msg_2"})
    with pytest.raises(WebhookVerificationError):
        webhook.verify(BODY, {**headers, "webhook-timestamp": str(int(now) - 1)})
    with pytest.raises(WebhookVerificationError):
        Webhook(b"another secret").verify(BODY, headers)


def test_an_old_post_replayed_is_refused_by_the_timestamp() -> None:
    headers = signed_headers(WHSEC, "msg_1", time.time() - 3600, BODY)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(WHSEC).verify(BODY, headers)


def test_without_a_secret_there_is_no_signature() -> None:
    for secret in (None, ""):
        headers = signed_headers(secret, "msg_1", 1_700_000_000, BODY)
        assert headers == {"webhook-id": "msg_1", "webhook-timestamp": "1700000000"}


def test_the_id_of_an_event_is_stable_and_its_own() -> None:
    first = webhook_id_of(1000001, "CallCompleted", "1000001-0-79160000009-1")
    assert first == webhook_id_of(1000001, "CallCompleted", "1000001-0-79160000009-1")
    assert first.startswith("msg_") and len(first) == 36
    assert first != webhook_id_of(1000001, "CallCompleted", "1000001-0-79160000008-1")
    assert first != webhook_id_of(1000002, "CallCompleted", "1000001-0-79160000009-1")


@pytest.mark.parametrize("jitter", [0.0, 0.5, 0.999])
def test_the_backoff_doubles_up_to_the_longest_wait_with_jitter(jitter: float) -> None:
    sender = WebhookSender(
        None,  # type: ignore[arg-type]  # backoff reads no database
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        base_delay_s=5.0,
        max_delay_s=3600.0,
        jitter=lambda: jitter,
    )
    steps = [5.0 * 2**n for n in range(10)] + [3600.0] * 5
    for attempts, ceiling in enumerate(steps, start=1):
        wait = sender.backoff(attempts)
        assert min(ceiling, 3600.0) / 2 <= wait <= min(ceiling, 3600.0)
    assert sender.backoff(1) == pytest.approx(2.5 + 2.5 * jitter)
