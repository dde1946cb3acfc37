"""The gateway's settings, read from the environment once at start-up."""

from __future__ import annotations

from typing import ClassVar

from zvonar_runtime.settings import ServiceSettings

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class GatewaySettings(ServiceSettings, frozen=True, kw_only=True):
    service: str = "gateway"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    admin_token: str | None = None
    # Seals the web page's session cookie; the same on every replica (see README). Unset:
    # a random key kept under data_dir (one machine, one replica only).
    session_secret: str | None = None
    # The cookie's Secure flag. Unset: on unless the gateway listens on loopback only.
    cookie_secure: bool | None = None
    # Wrong admin tokens (API) and wrong keys at the page's sign-in, per client address a
    # minute; past that a 429 with Retry-After.
    auth_failures_per_minute: int = 10
    demo: bool = False
    rate_limit_per_second: float = 50.0
    rate_limit_burst: int = 200
    # How long a request waits for a command or query answer before a 503.
    command_timeout: float = 10.0
    query_timeout: float = 10.0
    # A 1,000,000-number JSON body is ~20 MB; leave room for formatting, refuse beyond.
    max_body_bytes: int = 48 * 1024 * 1024
    # Webhooks to loopback, private and reserved addresses too (a customer's own network,
    # tests); off: only public addresses (docs/API.md "Limits and hostile input").
    webhook_allow_private: bool = False

    ENV: ClassVar[dict[str, str]] = {
        "http_host": "ZVONAR_HTTP_HOST",
        "http_port": "ZVONAR_HTTP_PORT",
        "admin_token": "ZVONAR_ADMIN_TOKEN",
        "session_secret": "ZVONAR_SESSION_SECRET",
        "cookie_secure": "ZVONAR_COOKIE_SECURE",
        "auth_failures_per_minute": "ZVONAR_AUTH_FAILURES_PER_MINUTE",
        "demo": "ZVONAR_DEMO",
        "rate_limit_per_second": "ZVONAR_RATE_LIMIT_PER_SECOND",
        "rate_limit_burst": "ZVONAR_RATE_LIMIT_BURST",
        "command_timeout": "ZVONAR_COMMAND_TIMEOUT",
        "query_timeout": "ZVONAR_QUERY_TIMEOUT",
        "max_body_bytes": "ZVONAR_MAX_BODY_BYTES",
        "webhook_allow_private": "ZVONAR_WEBHOOK_ALLOW_PRIVATE",
    }

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.http_host not in LOOPBACK_HOSTS
