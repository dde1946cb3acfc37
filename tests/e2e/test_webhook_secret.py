"""The webhook secret is write-only, against every service: the API never answers it, the
campaign's events carry only a reference, no export or log holds it; yet every call result
(of the campaign and of its copy) is posted signed with it, per Standard Webhooks (the
`standardwebhooks` package verifies them). The campaign's delivery log over HTTP shows each
post, the retries a failing receiver cost, and only to the campaign's own account."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from standardwebhooks import Webhook

from tests.e2e.helpers import create, get
from tests.stack import Stack, wait_for
from tests.webhook_receiver import Post, Receiver, running_receiver
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
        extra_env={
            "ZVONAR_WEBHOOK_ALLOW_PRIVATE": "1",
            "DIALER_WEBHOOK_RETRY_FIRST_S": "0.2",
            "DIALER_WEBHOOK_RETRY_MAX_S": "1",
        },
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


def signed_posts(receiver: Receiver, campaign_id: int) -> list[Post]:
    return [
        post for post in list(receiver.posts) if json.loads(post.body)["campaign_id"] == campaign_id
    ]


def test_the_secret_signs_the_webhooks_and_is_never_shown(stack: Stack, receiver: Receiver) -> None:
    secret = "wh-" + secrets.token_hex(12)
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    client = stack.new_account("Интеграция")
    created = create(
        client,
        name="С вебхуком",
        phones=PHONES,
        integration={"webhook_url": url, "secret": secret},
    )
    cid = created["id"]
    assert secret not in json.dumps(created)

    detail = get(client, cid)
    assert detail["options"]["integration"] == {"webhook_url": url, "has_secret": True}
    assert secret not in json.dumps(detail)

    def three_posts(campaign_id: int) -> list[Post] | None:
        posts = signed_posts(receiver, campaign_id)
        return posts if len(posts) >= len(PHONES) else None

    # A secret not in the whsec_ form: its UTF-8 bytes are the key (docs/webhooks.md).
    verifier = Webhook(secret.encode())
    posts = wait_for(lambda: three_posts(cid), 90, 0.2, "a webhook post for every call")
    for post in posts:
        assert verifier.verify(post.body, post.headers)["campaign_id"] == cid

    # A copy keeps the reference: its webhooks are signed with the same secret.
    copied = client.post(f"/api/v1/campaigns/{cid}/copy")
    assert copied.status_code == 201, copied.text
    copy_id = copied.json()["id"]
    copy_posts = wait_for(lambda: three_posts(copy_id), 90, 0.2, "the copy's webhook posts")
    for post in copy_posts:
        assert verifier.verify(post.body, post.headers)["campaign_id"] == copy_id

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


def test_the_delivery_log_shows_each_post_and_its_retries(stack: Stack) -> None:
    client = stack.new_account("Журнал вебхуков")
    phones = [f"+7916777100{d}" for d in (2, 4, 8)]
    with running_receiver(fail_first=2) as receiver:  # down for its first two posts
        created = create(
            client,
            name="Журнал",
            phones=phones,
            integration={"webhook_url": receiver.url, "secret": "whsec_" + "QUJD" * 8},
        )
        cid = created["id"]

        def delivered() -> dict[str, Any] | None:
            answer = client.get(f"/api/v1/campaigns/{cid}/webhooks")
            assert answer.status_code == 200, answer.text
            log: dict[str, Any] = answer.json()
            states = [item["state"] for item in log["items"]]
            return log if states == ["delivered"] * len(phones) else None

        log = wait_for(delivered, 90, 0.2, "every post delivered, in the log")
        posts = list(receiver.posts)
    assert log["total"] == 3 and (log["page"], log["per_page"]) == (1, 50)
    assert sum(item["attempts"] for item in log["items"]) == 3 + 2
    assert {item["last_status"] for item in log["items"]} == {200}
    assert {item["id"] for item in log["items"]} == {p.headers["webhook-id"] for p in posts}
    assert all(item["delivered_at"].endswith("+03:00") for item in log["items"])
    assert all(item["next_attempt_at"] is None for item in log["items"])
    verifier = Webhook("whsec_" + "QUJD" * 8)
    assert (
        sorted(verifier.verify(p.body, p.headers)["phone"] for p in posts if p.status == 200)
        == phones
    )

    paged = client.get(f"/api/v1/campaigns/{cid}/webhooks", params={"per_page": 2, "page": 2})
    assert [len(paged.json()["items"]), paged.json()["total"]] == [1, 3]
    bad = client.get(f"/api/v1/campaigns/{cid}/webhooks", params={"per_page": 500})
    assert bad.status_code in (400, 422) and set(bad.json()["error"]) == {
        "code",
        "message",
        "details",
    }

    other = stack.new_account("Чужой")
    theirs = other.get(f"/api/v1/campaigns/{cid}/webhooks")
    unknown = client.get("/api/v1/campaigns/987654321/webhooks")
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["error"]["code"] == unknown.json()["error"]["code"]
