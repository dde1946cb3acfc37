"""The webhook secret is write-only, against every service: the API never answers it, the
campaign's events carry only a reference, no export or log holds it; yet every call result
(of the campaign and of its copy) is posted signed with it."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Iterator

import pytest

from tests.e2e.helpers import create, get
from tests.stack import Stack, wait_for
from tests.webhook_receiver import Receiver, running_receiver
from zvonar_contracts import subjects
from zvonar_runtime.jetstream import connect

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

PHONES = [f"+7916777000{d}" for d in (1, 6, 9)]


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, pg_database_factory: Callable[[], str]
) -> Iterator[Stack]:
    """A stack of its own whose gateway and dialer let webhooks reach loopback, where the
    receiver here listens (ZVONAR_WEBHOOK_ALLOW_PRIVATE=1, as a customer's own network
    needs); the shared stack keeps the default and refuses private targets."""
    running = Stack(
        root=tmp_path_factory.mktemp("stack-webhooks"),
        database_url=pg_database_factory(),
        extra_env={"ZVONAR_WEBHOOK_ALLOW_PRIVATE": "1"},
    ).start()
    yield running
    running.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as server:
        yield server


def campaign_events(stack: Stack, campaign_id: int) -> list[bytes]:
    """Every message of the campaign in the CAMPAIGN_EVENTS stream, as stored."""

    async def read() -> list[bytes]:
        nc = await connect(stack.nats_url, "e2e-secret-reader")
        try:
            js = nc.jetstream()
            sub = await js.subscribe(
                subjects.campaign_event_subject(campaign_id, "*"), ordered_consumer=True
            )
            found: list[bytes] = []
            while True:  # the last message is the one with none pending after it
                msg = await sub.next_msg(timeout=10)
                found.append(msg.data)
                if msg.metadata.num_pending == 0:
                    break
            await sub.unsubscribe()
            return found
        finally:
            await nc.close()

    return asyncio.run(read())


def signed_posts(receiver: Receiver, campaign_id: int) -> list[tuple[str, bytes]]:
    return [(sig, body) for sig, body in list(receiver.posts)
            if json.loads(body)["campaign_id"] == campaign_id]  # fmt: skip


def test_the_secret_signs_the_webhooks_and_is_never_shown(stack: Stack, receiver: Receiver) -> None:
    secret = "wh-" + secrets.token_hex(12)
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    client = stack.new_account("Интеграция")
    created = create(
        client, name="С вебхуком", phones=PHONES,
        integration={"webhook_url": url, "secret": secret},
    )  # fmt: skip
    cid = created["id"]
    assert secret not in json.dumps(created)

    detail = get(client, cid)
    assert detail["options"]["integration"] == {"webhook_url": url, "has_secret": True}
    assert secret not in json.dumps(detail)

    def three_posts(campaign_id: int) -> list[tuple[str, bytes]] | None:
        posts = signed_posts(receiver, campaign_id)
        return posts if len(posts) >= len(PHONES) else None

    posts = wait_for(lambda: three_posts(cid), 90, 0.2, "a webhook post for every call")
    for signature, body in posts:
        assert signature == "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()

    # A copy keeps the reference: its webhooks are signed with the same secret.
    copied = client.post(f"/api/v1/campaigns/{cid}/copy")
    assert copied.status_code == 201, copied.text
    copy_id = copied.json()["id"]
    copy_posts = wait_for(lambda: three_posts(copy_id), 90, 0.2, "the copy's webhook posts")
    for signature, body in copy_posts:
        assert signature == "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()

    # The events: a reference, never the secret.
    events = campaign_events(stack, cid) + campaign_events(stack, copy_id)
    assert events and all(secret.encode() not in data for data in events)
    created_events = [json.loads(d) for d in events if b'"type":"CampaignCreated"' in d]
    refs = {e["options"]["integration"]["secret_ref"] for e in created_events}
    assert len(created_events) == 2 and len(refs) == 1 and None not in refs

    # Exports, the report and every service's log: no secret.
    export = client.post("/api/v1/campaigns/export", json={"ids": [cid, copy_id]})
    report = client.get(f"/api/v1/campaigns/{cid}/report", params={"format": "csv"})
    listed = client.get("/api/v1/campaigns")
    for answer in (export, report, listed):
        assert answer.status_code == 200 and secret.encode() not in answer.content
    for service in subjects.SERVICES:
        assert secret not in stack.log_path(service).read_text(errors="replace"), service
