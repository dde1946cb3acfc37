"""Settings read from the environment once, at start-up: one object per service.

A service subclasses `ServiceSettings` (pydantic-settings) and declares, for each field read
from the environment, the variable(s) it comes from with `env("NAME", "OLD_NAME")`: the first
one set wins, and an old name stays accepted while the docs call it deprecated. A field with
no `env(...)` is never read from the environment (no guessing from the field's name). A bad
value fails at start-up with one line naming the variable: `SettingsError`, which the
entry points turn into exit status 78.

`Settings.from_env(environ, **overrides)` reads; constructing a settings class directly
(`GatewaySettings(data_dir=...)`, as tests do) reads no environment at all.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self, cast

from pydantic import AliasChoices, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)


class SettingsError(ValueError):
    pass


def env(*names: str) -> AliasChoices:
    """The environment variables a field is read from, the preferred name first."""
    return AliasChoices(*names)


def env_names(field: FieldInfo) -> list[str]:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [choice for choice in alias.choices if isinstance(choice, str)]
    return [alias] if isinstance(alias, str) else []


class EnvironSource(PydanticBaseSettingsSource):
    """Each field from the first of its declared variables that is set and not empty, in a
    given mapping (os.environ by default). Undeclared fields are not read."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        for name in env_names(field):
            value = self.environ.get(name)
            if value:
                return value, name, False
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field_name, field in self.settings_cls.model_fields.items():
            value, name, _ = self.get_field_value(field, field_name)
            if value is not None:
                values[name] = value  # keyed by the variable: an error names it
        return values


def _describe(error: Any) -> str:
    """`NAME: what is wrong (got 'value')`, NAME the variable (or the override's field)."""
    where = ".".join(str(part) for part in error["loc"])
    value = error.get("input")
    got = f" (got {value!r})" if isinstance(value, str | int | float) else ""
    return f"{where}: {error['msg']}{got}"


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        case_sensitive=True,
        validate_by_name=True,  # construction and overrides by field name
        validate_by_alias=True,  # the environment, by variable name
    )

    service: str = "zvonar"
    nats_url: str = Field("nats://127.0.0.1:4222", validation_alias=env("NATS_URL"))
    data_dir: Path = Field(Path("./var"), validation_alias=env("ZVONAR_DATA_DIR"))
    database_url: str | None = Field(None, validation_alias=env("DATABASE_URL"))
    log_level: str = Field("info", validation_alias=env("ZVONAR_LOG_LEVEL"))
    # auto | json | console
    log_format: str = Field("auto", validation_alias=env("ZVONAR_LOG_FORMAT"))
    instance: str = Field("", validation_alias=env("ZVONAR_INSTANCE"))
    stream_replicas: int = Field(1, validation_alias=env("ZVONAR_STREAM_REPLICAS"))
    # Port for the service's own /healthz, /readyz and /metrics (0: off).
    monitor_port: int = Field(0, validation_alias=env("ZVONAR_MONITOR_PORT"))
    monitor_host: str = Field("127.0.0.1", validation_alias=env("ZVONAR_MONITOR_HOST"))
    # NATS credentials (one of: a .creds file, user and password, a token) and TLS: the CA
    # of the servers' certificates, and a client certificate and key if they ask for one.
    # Read through zvonar_runtime.natsconn.NatsAuth, which every NATS connection uses.
    nats_creds: Path | None = Field(None, validation_alias=env("NATS_CREDS"))
    nats_user: str | None = Field(None, validation_alias=env("NATS_USER"))
    nats_password: str | None = Field(None, validation_alias=env("NATS_PASSWORD"))
    nats_token: str | None = Field(None, validation_alias=env("NATS_TOKEN"))
    nats_tls_ca: Path | None = Field(None, validation_alias=env("NATS_TLS_CA"))
    nats_tls_cert: Path | None = Field(None, validation_alias=env("NATS_TLS_CERT"))
    nats_tls_key: Path | None = Field(None, validation_alias=env("NATS_TLS_KEY"))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Direct construction: the arguments only. `from_env` adds the environment.
        return (init_settings,)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """The settings from `environ` (default: os.environ); `overrides` (by field name)
        win over it. A bad value raises SettingsError naming the variable."""
        sources = (
            InitSettingsSource(cls, init_kwargs=overrides),
            EnvironSource(cls, os.environ if environ is None else environ),
        )
        try:
            # BaseSettings' own argument (mypy sees only the fields' synthesized __init__).
            settings: Self = cast(Any, cls)(_build_sources=(sources, overrides))
        except ValidationError as exc:
            problems = "; ".join(_describe(error) for error in exc.errors())
            raise SettingsError(f"{cls.__name__}: {problems}") from None
        return settings

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
