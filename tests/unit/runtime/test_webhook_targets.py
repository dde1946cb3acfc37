"""Which webhook targets are public: every address a name resolves to is checked."""

from __future__ import annotations

import pytest

from zvonar_runtime.webhook_targets import (
    Resolver,
    WebhookHostUnresolved,
    WebhookTargetRefused,
    checked_addresses,
    is_public,
)

NOT_PUBLIC = [
    "127.0.0.1",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "192.0.2.7",
    "::1",
    "fe80::1",
    "fd00::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::",
]
PUBLIC = ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_loopback_private_link_local_and_reserved_are_not_public(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_global_unicast_is_public(address: str) -> None:
    assert is_public(address)


def dns(names: dict[str, list[str]]) -> Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        if host not in names:
            raise OSError("no such host")
        return names[host]

    return resolve


async def test_one_private_address_among_public_ones_refuses_the_name() -> None:
    resolve = dns({"mixed.test": ["93.184.215.14", "10.0.0.8"], "ok.test": ["8.8.8.8"]})
    with pytest.raises(WebhookTargetRefused, match=r"10\.0\.0\.8"):
        await checked_addresses("https://mixed.test/h", allow_private=False, resolve=resolve)
    assert await checked_addresses(
        "https://ok.test:8443/h", allow_private=False, resolve=resolve
    ) == ["8.8.8.8"]
    assert await checked_addresses("http://mixed.test/h", allow_private=True, resolve=resolve) == [
        "93.184.215.14",
        "10.0.0.8",
    ]


async def test_urls_that_are_not_http_or_name_nothing_are_refused() -> None:
    resolve = dns({})
    for url in ["ftp://8.8.8.8/", "javascript:alert(1)", "http://", "http://8.8.8.8:99999/"]:
        with pytest.raises(WebhookTargetRefused):
            await checked_addresses(url, allow_private=True, resolve=resolve)
    with pytest.raises(WebhookHostUnresolved):
        await checked_addresses("https://nowhere.test/", allow_private=False, resolve=resolve)
