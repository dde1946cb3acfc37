"""A campaign with an integration posts each call result, signed, to the customer's URL —
when that URL is on a public address, or private targets are allowed (the receiver here is
on loopback: ZVONAR_WEBHOOK_ALLOW_PRIVATE=1, as a customer's own network would need). The
campaign carries only a reference: the dialer opens the secret the gateway sealed under the
shared key."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client

from tests.webhook_receiver import Receiver, running_receiver
from zvonar_contracts.call_events import CallCompleted
from zvonar_contracts.codec import decode
from zvonar_contracts.options import Integration
from zvonar_dialer.bootstrap import Dialer
from zvonar_dialer.settings import DialerSettings
from zvonar_runtime.secrets import SecretStore, secrets_key

from .conftest import CampaignDouble, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.postgres]
SECRET = "s3cret"


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
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as server:
        yield server


async def test_each_call_result_is_posted_signed_to_the_webhook(
    dialer: Dialer,
    dialer_settings: DialerSettings,
    double: CampaignDouble,
    nc: Client,
    receiver: Receiver,
) -> None:
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    phones = [f"+7916523450{d}" for d in range(10)]
    # As the gateway does: sealed under the key the dialer shares (here its data folder's).
    sealed = SecretStore(nc, secrets_key(dialer_settings.data_dir))
    ref = await sealed.put(SECRET)
    integration = Integration(webhook_url=url, secret_ref=ref)
    campaign_id = await double.create(phones, speed=3600, integration=integration)

    await wait_for(lambda: len(receiver.posts) >= 10, what="ten webhook posts")

    for signature, body in receiver.posts:
        expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert signature == f"sha256={expected}"
    results = [decode(body, CallCompleted) for _, body in receiver.posts]
    assert {r.campaign_id for r in results} == {campaign_id}
    assert sorted(r.phone for r in results) == phones


async def test_with_private_targets_refused_a_loopback_webhook_gets_no_post(
    dialer: Dialer,
    dialer_settings: DialerSettings,
    double: CampaignDouble,
    nc: Client,
    receiver: Receiver,
) -> None:
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    phones = [f"+7916523451{d}" for d in range(3)]
    ref = await SecretStore(nc, secrets_key(dialer_settings.data_dir)).put(SECRET)
    integration = Integration(webhook_url=url, secret_ref=ref)
    await double.create(phones, speed=3600, integration=integration)

    await wait_for(lambda: dialer.webhooks.failed >= 3, what="three refused webhooks")
    assert receiver.posts == []
    assert dialer.webhooks.delivered == 0
