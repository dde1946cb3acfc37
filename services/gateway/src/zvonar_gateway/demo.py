"""Demo seeding (ZVONAR_DEMO=1): a demo account "Демо" (Europe/Moscow) created once, its API
key in `<data_dir>/demo-api-key`, and a few campaigns created through the API's own path."""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog

from zvonar_gateway.adapters.backend import NatsBackend
from zvonar_gateway.domain.account import Account
from zvonar_gateway.service_layer.campaigns import create_from_json
from zvonar_gateway.service_layer.ports import Accounts
from zvonar_gateway.settings import GatewaySettings
from zvonar_runtime.correlation import correlation_scope
from zvonar_runtime.health import wait_ready

log = structlog.get_logger("zvonar.gateway.demo")

DEMO_NAME = "Демо"
DEMO_TZ = "Europe/Moscow"
_ACCOUNT_KEY = "demo_account_id"
_SEEDED_KEY = "demo_campaigns_seeded"


def demo_campaigns(now: dt.datetime) -> list[dict[str, Any]]:
    phones = [f"+7916123456{digit}" for digit in range(10)]
    text = "Здравствуйте! Это демонстрационный звонок сервиса Звонарь."
    return [
        {"name": "Демо: простая", "phones": phones, "audio": {"kind": "tts", "text": text}},
        {
            "name": "Демо: умная",
            "phones": phones,
            "audio": {"kind": "tts", "text": text},
            "smart": {"parts": 2, "delay_minutes": 30},
            "ivr": {"kind": "keys", "lead_keys": ["1"]},
        },
        {
            "name": "Демо: отложенная",
            "phones": phones,
            "audio": {"kind": "tts", "text": text},
            "start_at": (now + dt.timedelta(days=1)).isoformat(),
        },
    ]


async def demo_account(settings: GatewaySettings, accounts: Accounts) -> Account:
    """The demo account (created once) with a live key written to the data folder."""
    key_file = settings.data_dir / "demo-api-key"
    account_id = await accounts.get_meta(_ACCOUNT_KEY)
    account = await accounts.by_id(account_id) if account_id else None
    if account is None:
        account, api_key = await accounts.create(DEMO_NAME, DEMO_TZ)
        await accounts.set_meta(_ACCOUNT_KEY, account.id)
    elif key_file.exists() and await accounts.by_key(key_file.read_text().strip()) is not None:
        return account
    else:
        # Keys are stored hashed: a lost key file can only be replaced by a new key.
        api_key = await accounts.rotate_key(account.id)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key_file.write_text(api_key + "\n")
    key_file.chmod(0o600)
    log.info("demo_account", account_id=account.id, api_key_file=str(key_file))
    return account


async def seed_demo(settings: GatewaySettings, accounts: Accounts, backend: NatsBackend) -> None:
    # A correlation id of its own, like any request: the commands it causes can be traced.
    with correlation_scope(None):
        await _seed(settings, accounts, backend)


async def _seed(settings: GatewaySettings, accounts: Accounts, backend: NatsBackend) -> None:
    account = await demo_account(settings, accounts)
    if await accounts.get_meta(_SEEDED_KEY):
        return
    await wait_ready(backend.nc, ["campaign", "stats"], timeout=120)
    for number, body in enumerate(demo_campaigns(dt.datetime.now(dt.UTC)), start=1):
        # A fixed Idempotency-Key: a crash halfway through does not double the demo.
        created = await create_from_json(
            backend,
            account,
            body,
            idempotency_key=f"demo-{account.id}-{number}",
            allow_private_webhooks=settings.webhook_allow_private,
        )
        log.info("demo_campaign", campaign_id=created.campaign.id, name=created.campaign.name)
    await accounts.set_meta(_SEEDED_KEY, "1")
