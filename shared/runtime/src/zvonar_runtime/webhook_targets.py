"""Where a webhook may be sent (docs/API.md "Limits and hostile input"): `http://` or
`https://` on a public address. A host that resolves to a loopback, private, link-local or
otherwise reserved address is refused, unless private targets are allowed (the gateway's
and dialer's ZVONAR_WEBHOOK_ALLOW_PRIVATE=1: a customer's own network, and tests).

The gateway checks when a campaign is created; the dialer checks again at each delivery
(DNS can change in between) and connects to an address it has just checked, never
resolving the name a second time.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

Resolver = Callable[[str, int], Awaitable[list[str]]]

DEFAULT_PORTS = {"http": 80, "https": 443}


class WebhookTargetRefused(ValueError):
    """A webhook URL that may not be used: its message says why, for the customer."""


class WebhookHostUnresolved(WebhookTargetRefused):
    """The URL's host resolves to nothing right now (it may later: DNS is not ready yet)."""


async def system_resolve(host: str, port: int) -> list[str]:
    """The addresses the operating system's resolver gives for `host`."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: str) -> bool:
    """A globally routable unicast address (an IPv4-mapped IPv6 one judged as IPv4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def host_and_port(url: str) -> tuple[str, int]:
    """The host and port of an http(s) URL; WebhookTargetRefused for any other URL."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise WebhookTargetRefused("an http:// or https:// URL with a host")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:
        raise WebhookTargetRefused("the port is not a number from 1 to 65535") from exc
    return parts.hostname, port


async def checked_addresses(
    url: str,
    *,
    allow_private: bool,
    resolve: Resolver = system_resolve,
    timeout_s: float = 5.0,
) -> list[str]:
    """The addresses `url`'s host resolves to, every one of them public (or private ones
    allowed); WebhookTargetRefused if one is not, WebhookHostUnresolved if there are none."""
    host, port = host_and_port(url)
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            async with asyncio.timeout(timeout_s):
                addresses = await resolve(host, port)
        except (OSError, UnicodeError, TimeoutError) as exc:
            raise WebhookHostUnresolved(f"the host {host!r} does not resolve") from exc
    if not addresses:
        raise WebhookHostUnresolved(f"the host {host!r} does not resolve")
    if not allow_private:
        refused = [address for address in addresses if not is_public(address)]
        if refused:
            raise WebhookTargetRefused(
                f"the host {host!r} is not a public address ({', '.join(refused)}): "
                "loopback, private, link-local and reserved addresses are refused"
            )
    return addresses
