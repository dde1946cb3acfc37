"""Settings read from the environment once, at start-up: one object per service.

A service subclasses `ServiceSettings`; each field is read from the variable named in
`ENV` (or the field's name upper-cased) and converted with msgspec, so a bad value fails
loudly at start-up rather than deep inside a handler.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

import msgspec


class SettingsError(ValueError):
    pass


def _from_text(type_: type, value: Any) -> Any:
    if type_ is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError(f"cannot read {type_!r} from the environment")


class ServiceSettings(msgspec.Struct, kw_only=True, frozen=True):
    service: str = "zvonar"
    nats_url: str = "nats://127.0.0.1:4222"
    data_dir: Path = Path("./var")
    database_url: str | None = None
    log_level: str = "info"
    log_format: str = "auto"  # auto | json | console
    instance: str = ""
    stream_replicas: int = 1
    # Port for the service's own /healthz, /readyz and /metrics (0: off).
    monitor_port: int = 0
    monitor_host: str = "127.0.0.1"
    # NATS credentials (one of: a .creds file, user and password, a token) and TLS: the CA
    # of the servers' certificates, and a client certificate and key if they ask for one.
    # Read through zvonar_runtime.natsconn.NatsAuth, which every NATS connection uses.
    nats_creds: Path | None = None
    nats_user: str | None = None
    nats_password: str | None = None
    nats_token: str | None = None
    nats_tls_ca: Path | None = None
    nats_tls_cert: Path | None = None
    nats_tls_key: Path | None = None

    ENV: ClassVar[dict[str, str]] = {
        "nats_url": "NATS_URL",
        "data_dir": "ZVONAR_DATA_DIR",
        "database_url": "DATABASE_URL",
        "log_level": "ZVONAR_LOG_LEVEL",
        "log_format": "ZVONAR_LOG_FORMAT",
        "instance": "ZVONAR_INSTANCE",
        "stream_replicas": "ZVONAR_STREAM_REPLICAS",
        "monitor_port": "ZVONAR_MONITOR_PORT",
        "monitor_host": "ZVONAR_MONITOR_HOST",
    }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        env = os.environ if environ is None else environ
        names: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            names.update(getattr(klass, "ENV", {}))
        raw: dict[str, Any] = {}
        for field in msgspec.structs.fields(cls):
            var = names.get(field.name, field.name.upper())
            if var in env and env[var] != "":
                raw[field.name] = env[var]
        raw.update(overrides)
        try:
            return msgspec.convert(raw, cls, strict=False, dec_hook=_from_text)
        except msgspec.ValidationError as exc:
            raise SettingsError(f"{cls.__name__}: {exc}") from exc

    def sqlite_path(self, name: str) -> Path:
        """Where this service keeps its SQLite file when no DATABASE_URL is given."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir / f"{name}.sqlite3"

    @property
    def nats_servers(self) -> list[str]:
        """NATS_URL may name several servers of a cluster, separated by commas."""
        return split_servers(self.nats_url)

    @property
    def instance_id(self) -> str:
        return self.instance or f"{self.service}-{os.getpid()}"


def split_servers(url: str) -> list[str]:
    return [part.strip() for part in url.split(",") if part.strip()]
