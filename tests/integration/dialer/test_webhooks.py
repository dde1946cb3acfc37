"""A campaign with an integration posts each call result, signed per Standard Webhooks, to
the customer's URL — when that URL is on a public address, or private targets are allowed
(the receivers here are on loopback: ZVONAR_WEBHOOK_ALLOW_PRIVATE=1, as a customer's own
network would need). The campaign carries only a reference: the dialer opens the secret the
gateway sealed under the shared key. The posts come from the dialer's database: a dialer
restarted while its receiver was down posts them all the same; and the receiver of
docs/webhooks.md, run as it is written there, verifies them."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import msgspec
import pytest
from nats.aio.client import Client
from standardwebhooks import Webhook

from tests.webhook_receiver import Receiver, running_receiver
from zvonar_contracts.call_events import CallCompleted
from zvonar_contracts.codec import decode, encode
from zvonar_contracts.dialer import ListWebhookDeliveries, WebhookDeliveryPage
from zvonar_contracts.options import Integration
from zvonar_contracts.subjects import dialer_request_subject
from zvonar_dialer.adapters.webhooks import signed_headers
from zvonar_dialer.bootstrap import Dialer, run_in_process
from zvonar_dialer.settings import DialerSettings
from zvonar_runtime.secrets import SecretStore, secrets_key

from .conftest import CampaignDouble, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.postgres]
SECRET = "s3cret"  # a secret of the kind every campaign had before: its bytes are the key
DOCS = Path(__file__).resolve().parents[3] / "docs" / "webhooks.md"


@pytest.fixture
def dialer_settings(
    nats_url: str, pg_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> DialerSettings:
    private = "private_targets_refused" not in request.node.name
    return DialerSettings(
        nats_url=nats_url,
        database_url=pg_url,
        data_dir=tmp_path,
        time_scale=3600.0,
        tick_seconds=0.01,
        log_format="console",
        webhook_allow_private=private,
        webhook_retry_first_s=0.2,
        webhook_retry_max_s=0.5,
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as server:
        yield server


async def integration_of(
    nc: Client, settings: DialerSettings, url: str, secret: str = SECRET
) -> Integration:
    # As the gateway does: sealed under the key the dialer shares (here its data folder's).
    ref = await SecretStore(nc, secrets_key(settings.data_dir)).put(secret)
    return Integration(webhook_url=url, secret_ref=ref)


async def delivery_log(
    nc: Client, campaign_id: int, account_id: str = "acc_test", **query: Any
) -> WebhookDeliveryPage:
    request = ListWebhookDeliveries(campaign_id=campaign_id, account_id=account_id, **query)
    reply = await nc.request(
        dialer_request_subject("ListWebhookDeliveries"), encode(request), timeout=10
    )
    return decode(reply.data, WebhookDeliveryPage)


async def test_each_call_result_is_posted_signed_and_logged(
    dialer: Dialer,
    dialer_settings: DialerSettings,
    double: CampaignDouble,
    nc: Client,
    receiver: Receiver,
) -> None:
    phones = [f"+7916523450{d}" for d in range(10)]
    integration = await integration_of(nc, dialer_settings, receiver.url)
    campaign_id = await double.create(phones, speed=3600, integration=integration)

    async def ten_delivered() -> bool:  # posted, and the answer recorded
        return (await delivery_log(nc, campaign_id, state="delivered")).total == 10

    await wait_for(ten_delivered, what="ten webhook posts delivered")

    verifier = Webhook(SECRET.encode())
    results = [
        decode(msgspec.json.encode(verifier.verify(post.body, post.headers)), CallCompleted)
        for post in receiver.posts
    ]
    assert {r.campaign_id for r in results} == {campaign_id}
    assert sorted(r.phone for r in results) == phones
    ids = {post.headers["webhook-id"] for post in receiver.posts}
    assert len(ids) == 10

    log = await delivery_log(nc, campaign_id)
    assert log.total == 10 and {d.id for d in log.items} == ids
    assert {(d.state, d.attempts, d.last_status, d.event) for d in log.items} == {
        ("delivered", 1, 200, "CallCompleted")
    }
    assert all(d.delivered_at is not None and d.next_attempt_at is None for d in log.items)
    assert {d.call_id for d in log.items} == {r.call_id for r in results}
    # Paged, and only the account's own campaign.
    first = await delivery_log(nc, campaign_id, per_page=4)
    third = await delivery_log(nc, campaign_id, per_page=4, page=3)
    assert (len(first.items), len(third.items), first.total) == (4, 2, 10)
    assert (await delivery_log(nc, campaign_id, state="failed")).total == 0
    other = await delivery_log(nc, campaign_id, account_id="acc_other")
    assert (other.total, other.items) == (0, [])


async def test_with_private_targets_refused_a_loopback_webhook_gets_no_post(
    dialer: Dialer,
    dialer_settings: DialerSettings,
    double: CampaignDouble,
    nc: Client,
    receiver: Receiver,
) -> None:
    phones = [f"+7916523451{d}" for d in range(3)]
    integration = await integration_of(nc, dialer_settings, receiver.url)
    campaign_id = await double.create(phones, speed=3600, integration=integration)

    async def three_failed() -> bool:
        return (await delivery_log(nc, campaign_id, state="failed")).total == 3

    await wait_for(three_failed, what="three refused webhooks")
    assert receiver.posts == []
    [failed, *_] = (await delivery_log(nc, campaign_id)).items
    assert failed.attempts == 1 and "not a public address" in (failed.last_error or "")


async def test_posts_a_receiver_refused_are_made_by_the_dialer_started_again(
    dialer_settings: DialerSettings, double: CampaignDouble, nc: Client
) -> None:
    phones = [f"+7916523452{d}" for d in range(3)]
    with running_receiver(fail_first=10**9) as receiver:
        async with run_in_process(dialer_settings):
            integration = await integration_of(nc, dialer_settings, receiver.url)
            campaign_id = await double.create(phones, speed=3600, integration=integration)

            async def all_retried() -> bool:
                log = await delivery_log(nc, campaign_id)
                return log.total == 3 and all(d.attempts >= 2 for d in log.items)

            await wait_for(all_retried, what="three posts refused twice")
        # The dialer is gone; its posts are in its database, due again.
        receiver.fail_first = 0
        refused = {post.headers["webhook-id"] for post in receiver.answered(503)}
        async with run_in_process(dialer_settings):

            async def all_delivered() -> bool:
                return (await delivery_log(nc, campaign_id, state="delivered")).total == 3

            await wait_for(all_delivered, timeout=30, what="the posts made after the restart")
            log = await delivery_log(nc, campaign_id)
    delivered = {post.headers["webhook-id"] for post in receiver.answered(200)}
    assert delivered == refused == {d.id for d in log.items}
    assert all(d.attempts >= 3 and d.last_status == 200 for d in log.items)
    assert len(receiver.answered(200)) == 3  # each once
    verifier = Webhook(SECRET.encode())
    assert sorted(verifier.verify(p.body, p.headers)["phone"] for p in receiver.answered(200)) == (
        phones
    )


# --- the receiver of docs/webhooks.md --------------------------------------------------


def docs_receiver(secret: str, handled: list[dict[str, Any]]) -> dict[str, Any]:
    """The example of docs/webhooks.md, executed as written, with `handle` recording."""
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"<!-- receiver-example -->\s*```python\n(.*?)```", text, re.S)
    assert match, "docs/webhooks.md has no receiver example"
    namespace: dict[str, Any] = {"__name__": "docs_webhooks_example"}
    os.environ["ZVONAR_WEBHOOK_SECRET"] = secret
    try:
        exec(compile(match.group(1), str(DOCS), "exec"), namespace)
    finally:
        del os.environ["ZVONAR_WEBHOOK_SECRET"]
    namespace["handle"] = handled.append
    return namespace


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@pytest.mark.parametrize(
    "secret", [SECRET, "whsec_" + base64.b64encode(os.urandom(32)).decode()], ids=["old", "whsec"]
)
async def test_the_receiver_in_the_docs_verifies_the_posts(
    dialer: Dialer,
    dialer_settings: DialerSettings,
    double: CampaignDouble,
    nc: Client,
    secret: str,
) -> None:
    handled: list[dict[str, Any]] = []
    example = docs_receiver(secret, handled)
    server = ThreadingHTTPServer(("127.0.0.1", 0), example["Receiver"])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/zvonar"
    try:
        phones = [f"+791652345{n:02d}" for n in range(30, 34)]
        integration = await integration_of(nc, dialer_settings, url, secret)
        campaign_id = await double.create(phones, speed=3600, integration=integration)

        async def all_delivered() -> bool:
            return (await delivery_log(nc, campaign_id, state="delivered")).total == 4

        await wait_for(all_delivered, what="four posts accepted by the docs' receiver")
        assert sorted(result["phone"] for result in handled) == phones
        # A repeat of a post handled is acknowledged, not handled again (signed here as the
        # dialer signs a retry: the same id, a fresh time); a forged post is refused.
        body = msgspec.json.encode(handled[0])
        log = await delivery_log(nc, campaign_id)
        first = next(d for d in log.items if d.call_id == handled[0]["call_id"])
        repeat = signed_headers(secret, first.id, time.time(), body)
        assert await asyncio.to_thread(post, url, body, repeat) == 204
        forged = signed_headers("not the secret", "msg_forged", time.time(), body)
        assert await asyncio.to_thread(post, url, body, forged) == 401
        assert len(handled) == 4
    finally:
        server.shutdown()
        server.server_close()
