"""How every Zvonar process connects to NATS: credentials and TLS from the settings, and the
callbacks that tell a refused login and a connection the server closed apart from an
outage that reconnecting will outlast.

Credentials: `NATS_CREDS` (a .creds file), `NATS_USER` + `NATS_PASSWORD`, or `NATS_TOKEN`
(one of them). TLS: `NATS_TLS_CA` (the CA that signed the servers' certificates), plus
`NATS_TLS_CERT` + `NATS_TLS_KEY` when the servers ask for client certificates.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from faststream.nats.security import (
    NatsCredentials,
    NatsSecurity,
    NatsToken,
    NatsUserPassword,
)
from nats import errors as nats_errors

from zvonar_runtime.cli import EXIT_CONFIG as EXIT_CONFIG
from zvonar_runtime.settings import ServiceSettings, SettingsError

log = structlog.get_logger("zvonar.nats")

# What the server says when it will not have us; trying again changes nothing.
_REFUSALS = ("authorization violation", "authorization timeout", "authentication")


class NatsRefused(ConnectionError):
    """The server refused this client's credentials or TLS: not an outage to wait out."""


@dataclass(frozen=True, repr=False)
class NatsAuth:
    """Who a client is to NATS and how it checks the server: built once from the settings."""

    creds: Path | None = None
    user: str | None = None
    password: str | None = None
    token: str | None = None
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> NatsAuth:
        auth = cls(
            creds=settings.nats_creds,
            user=settings.nats_user,
            password=settings.nats_password,
            token=settings.nats_token,
            tls_ca=settings.nats_tls_ca,
            tls_cert=settings.nats_tls_cert,
            tls_key=settings.nats_tls_key,
        )
        auth.check()
        return auth

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> NatsAuth:
        return cls.from_settings(ServiceSettings.from_env(environ))

    def __repr__(self) -> str:  # never the password or the token
        return f"NatsAuth({self.identity}, tls={self.tls_ca is not None})"

    def check(self) -> None:
        ways = [
            name
            for name, value in (
                ("NATS_CREDS", self.creds),
                ("NATS_USER", self.user),
                ("NATS_TOKEN", self.token),
            )
            if value
        ]
        if len(ways) > 1:
            raise SettingsError(f"set one of {' and '.join(ways)}, not both")
        if bool(self.user) != (self.password is not None):
            raise SettingsError("NATS_USER and NATS_PASSWORD go together")
        if self.tls_key is not None and self.tls_cert is None:
            raise SettingsError("NATS_TLS_KEY needs NATS_TLS_CERT")
        for name, path in (
            ("NATS_CREDS", self.creds),
            ("NATS_TLS_CA", self.tls_ca),
            ("NATS_TLS_CERT", self.tls_cert),
            ("NATS_TLS_KEY", self.tls_key),
        ):
            if path is not None and not path.is_file():
                raise SettingsError(f"{name}: no such file {path}")

    @property
    def identity(self) -> str:
        if self.creds is not None:
            return f"the credentials in {self.creds}"
        if self.user:
            return f"the credentials of user {self.user!r}"
        if self.token:
            return "the token"
        return "an anonymous client"

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.tls_ca is None and self.tls_cert is None:
            return None
        try:
            context = ssl.create_default_context(
                ssl.Purpose.SERVER_AUTH, cafile=str(self.tls_ca) if self.tls_ca else None
            )
            if self.tls_cert is not None:
                key = str(self.tls_key) if self.tls_key else None
                context.load_cert_chain(str(self.tls_cert), key)
        except (OSError, ssl.SSLError) as exc:
            raise SettingsError(f"NATS TLS files: {exc}") from exc
        return context

    def connect_kwargs(self) -> dict[str, Any]:
        """The nats-py `connect()` keyword arguments for these credentials and TLS."""
        kwargs: dict[str, Any] = {}
        if self.creds is not None:
            kwargs["user_credentials"] = str(self.creds)
        if self.user:
            kwargs["user"] = self.user
            kwargs["password"] = self.password
        if self.token:
            kwargs["token"] = self.token
        context = self.ssl_context()
        if context is not None:
            kwargs["tls"] = context
        return kwargs

    def security(self) -> NatsSecurity | None:
        """The same, as faststream's NatsBroker takes it (it hands it on to nats-py)."""
        context = self.ssl_context()
        tls: dict[str, Any] = {"ssl_context": context, "use_ssl": context is not None}
        if self.creds is not None:
            return NatsCredentials(str(self.creds), **tls)
        if self.user:
            return NatsUserPassword(self.user, self.password or "", **tls)
        if self.token:
            return NatsToken(self.token, **tls)
        return NatsSecurity(**tls) if context is not None else None

    def refusal(self, exc: BaseException, url: str) -> NatsRefused | None:
        """A `NatsRefused` with a one-line reason if `exc` is the server refusing us."""
        if isinstance(exc, ssl.SSLError):
            return NatsRefused(f"TLS with NATS at {url} failed: {exc}")
        reason = str(exc).removeprefix("nats: ").strip().strip("'")
        if any(word in reason.lower() for word in _REFUSALS):
            return NatsRefused(f"NATS refused {self.identity} at {url}: {reason}")
        return None


# Errors that mean "no server answers (yet)": reconnecting will outlast them.
_UNREACHABLE = (
    OSError,
    TimeoutError,
    nats_errors.NoServersError,
    nats_errors.StaleConnectionError,
    nats_errors.ConnectionClosedError,
)
# After the first few failed attempts in a row, one `nats_unreachable` line this often.
UNREACHABLE_LOG_EVERY_SECONDS = 10.0


@dataclass
class NatsWatch:
    """The error and closed callbacks of one client.

    Before the first connection a refusal ends the connect call (nats-py would otherwise try
    again for ever). Afterwards a closed connection, which nats-py never reopens (the server
    closed it on a protocol violation such as a message over max_payload, or stopped taking
    our credentials), sets `closed`: the process should end so that its supervisor starts
    it afresh. While no server answers (at start-up or after a disconnection) it logs
    `nats_unreachable` with the URL and when the client tries again (`retry_seconds`, the
    client's reconnect wait): every attempt at first, then once every ten seconds."""

    auth: NatsAuth
    url: str
    connected: bool = False
    reason: str = ""
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    retry_seconds: float = 0.5
    failed_attempts: int = 0
    _last_logged: float = 0.0

    async def on_error(self, exc: Exception) -> None:
        refused = self.auth.refusal(exc, self.url)
        if refused is not None and not self.connected:
            raise refused
        if refused is not None:
            # Reconnecting with credentials the server no longer takes cannot succeed.
            self.reason = str(refused)
            self.closed.set()
        if refused is None and isinstance(exc, _UNREACHABLE):
            self._unreachable(exc)
            return
        log.warning("nats_error", error=str(exc) or repr(exc), url=self.url)

    def _unreachable(self, exc: Exception) -> None:
        self.failed_attempts += 1
        now = time.monotonic()
        if self.failed_attempts > 3 and now - self._last_logged < UNREACHABLE_LOG_EVERY_SECONDS:
            return
        self._last_logged = now
        log.warning(
            "nats_unreachable",
            url=self.url,
            error=str(exc) or type(exc).__name__,
            attempts=self.failed_attempts,
            retry_in_seconds=self.retry_seconds,
            phase="running" if self.connected else "start-up",
        )

    async def on_reconnected(self) -> None:
        if self.failed_attempts:
            log.info("nats_reconnected", url=self.url, after_attempts=self.failed_attempts)
        self.failed_attempts = 0

    async def on_closed(self) -> None:
        self.closed.set()

    def callbacks(self) -> dict[str, Any]:
        return {
            "error_cb": self.on_error,
            "closed_cb": self.on_closed,
            "reconnected_cb": self.on_reconnected,
        }
