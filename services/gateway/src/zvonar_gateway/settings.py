"""The gateway's settings, read from the environment once at start-up."""

from __future__ import annotations

from pydantic import Field

from zvonar_runtime.settings import ServiceSettings, env

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class GatewaySettings(ServiceSettings):
    service: str = "gateway"
    http_host: str = Field("127.0.0.1", validation_alias=env("ZVONAR_HTTP_HOST"))
    http_port: int = Field(8000, validation_alias=env("ZVONAR_HTTP_PORT"))
    admin_token: str | None = Field(None, validation_alias=env("ZVONAR_ADMIN_TOKEN"))
    # Seals the web page's session cookie; the same on every replica (see README). Unset:
    # a random key kept under data_dir (one machine, one replica only).
    session_secret: str | None = Field(None, validation_alias=env("ZVONAR_SESSION_SECRET"))
    # The cookie's Secure flag. Unset: on unless the gateway listens on loopback only.
    cookie_secure: bool | None = Field(None, validation_alias=env("ZVONAR_COOKIE_SECURE"))
    # Wrong admin tokens (API) and wrong keys at the page's sign-in, per client address a
    # minute; past that a 429 with Retry-After.
    auth_failures_per_minute: int = Field(
        10, validation_alias=env("ZVONAR_AUTH_FAILURES_PER_MINUTE")
    )
    demo: bool = Field(False, validation_alias=env("ZVONAR_DEMO"))
    rate_limit_per_second: float = Field(50.0, validation_alias=env("ZVONAR_RATE_LIMIT_PER_SECOND"))
    rate_limit_burst: int = Field(200, validation_alias=env("ZVONAR_RATE_LIMIT_BURST"))
    # Tokens a replica takes at a time from the limit every replica shares (NATS KV): more is
    # fewer round trips, and a key refused up to (replicas - 1) * chunk requests early.
    # Unset: a tenth of a second of the rate, at most a twentieth of the burst (5 by default).
    rate_limit_chunk: int | None = Field(None, validation_alias=env("ZVONAR_RATE_LIMIT_CHUNK"))
    # How long a request waits for a command or query answer before a 503.
    command_timeout: float = Field(10.0, validation_alias=env("ZVONAR_COMMAND_TIMEOUT"))
    query_timeout: float = Field(10.0, validation_alias=env("ZVONAR_QUERY_TIMEOUT"))
    # A 1,000,000-number JSON body is ~20 MB; leave room for formatting, refuse beyond.
    max_body_bytes: int = Field(48 * 1024 * 1024, validation_alias=env("ZVONAR_MAX_BODY_BYTES"))
    # Webhooks to loopback, private and reserved addresses too (a customer's own network,
    # tests); off: only public addresses (docs/API.md "Limits and hostile input").
    webhook_allow_private: bool = Field(False, validation_alias=env("ZVONAR_WEBHOOK_ALLOW_PRIVATE"))

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.http_host not in LOOPBACK_HOSTS
