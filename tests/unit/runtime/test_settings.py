"""Settings from the environment (pydantic-settings): each field from the variables it
declares, nothing from a bare field name, a bad value named by its variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from zvonar_campaign.settings import CampaignSettings
from zvonar_dialer.settings import DialerSettings
from zvonar_gateway.settings import GatewaySettings
from zvonar_moderation.settings import ModerationSettings
from zvonar_runtime.settings import ServiceSettings, SettingsError
from zvonar_stats.settings import StatsSettings


def test_declared_variables_are_read_and_converted() -> None:
    settings = GatewaySettings.from_env(
        {
            "NATS_URL": "nats://a:4222,nats://b:4222",
            "ZVONAR_DATA_DIR": "/srv/zvonar",
            "ZVONAR_HTTP_PORT": "8080",
            "ZVONAR_COOKIE_SECURE": "0",
            "ZVONAR_RATE_LIMIT_PER_SECOND": "2.5",
            "NATS_USER": "gateway",
            "NATS_PASSWORD": "s3cret",
            "NATS_TLS_CA": "/etc/zvonar/ca.pem",
        }
    )
    assert settings.nats_servers == ["nats://a:4222", "nats://b:4222"]
    assert settings.data_dir == Path("/srv/zvonar")
    assert (settings.http_port, settings.cookie_secure) == (8080, False)
    assert settings.rate_limit_per_second == 2.5
    assert (settings.nats_user, settings.nats_password) == ("gateway", "s3cret")
    assert settings.nats_tls_ca == Path("/etc/zvonar/ca.pem")
    assert settings.service == "gateway"


def test_a_bad_value_is_one_line_naming_the_variable() -> None:
    with pytest.raises(SettingsError) as caught:
        DialerSettings.from_env({"DIALER_MAX_BURST": "lots", "DIALER_SIP_CPS": "10"})
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("DialerSettings: DIALER_MAX_BURST: ")
    assert "'lots'" in message
    with pytest.raises(SettingsError, match=r"^GatewaySettings: ZVONAR_COOKIE_SECURE: .*'maybe'"):
        GatewaySettings.from_env({"ZVONAR_COOKIE_SECURE": "maybe"})


def test_an_undeclared_bare_name_is_not_read() -> None:
    bare = {
        "BATCH_SIZE": "7",
        "DB_SCHEMA": "elsewhere",
        "SERVICE": "impostor",
        "COMMAND_WORKERS": "99",
        "MAX_BURST": "1",
        "HTTP_PORT": "1",
        "DATA_DIR": "/nowhere",
        "STREAM_REPLICAS": "5",
    }
    stats = StatsSettings.from_env(bare)
    assert (stats.batch_size, stats.db_schema, stats.service) == (500, "stats", "stats")
    assert stats.data_dir == Path("./var") and stats.stream_replicas == 1
    assert CampaignSettings.from_env(bare).command_workers == 8
    assert DialerSettings.from_env(bare).max_burst == 500
    assert GatewaySettings.from_env(bare).http_port == 8000


def test_an_empty_variable_counts_as_unset() -> None:
    settings = CampaignSettings.from_env({"CAMPAIGN_COMMAND_WORKERS": "", "DATABASE_URL": ""})
    assert (settings.command_workers, settings.database_url) == (8, None)


def test_overrides_win_over_the_environment() -> None:
    settings = StatsSettings.from_env({"STATS_BATCH_SIZE": "50"}, batch_size=5, service="s")
    assert (settings.batch_size, settings.service) == (5, "s")
    with pytest.raises(SettingsError, match="no_such_setting"):
        StatsSettings.from_env({}, no_such_setting=1)


def test_direct_construction_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATS_URL", "nats://from-the-environment:4222")
    monkeypatch.setenv("DIALER_MAX_BURST", "3")
    settings = DialerSettings(max_burst=7)
    assert (settings.max_burst, settings.nats_url) == (7, "nats://127.0.0.1:4222")
    assert ServiceSettings.from_env().nats_url == "nats://from-the-environment:4222"


def test_settings_are_frozen() -> None:
    settings = ServiceSettings()
    with pytest.raises(ValueError, match="frozen"):
        settings.nats_url = "nats://elsewhere:4222"  # type: ignore[misc]


@pytest.mark.parametrize("prefix", ["MODERATION_", "ZVONAR_MODERATION_"])
def test_moderation_reads_its_prefix_and_the_deprecated_one(prefix: str) -> None:
    settings = ModerationSettings.from_env(
        {
            f"{prefix}RULES": "/etc/zvonar/rules.toml",
            f"{prefix}CONSUMER": "moderation-b",
            f"{prefix}COMMAND_TIMEOUT": "4.5",
            f"{prefix}RETRY_DELAY": "0.25",
        }
    )
    assert settings.rules_path == Path("/etc/zvonar/rules.toml")
    assert settings.consumer == "moderation-b"
    assert (settings.command_timeout, settings.retry_delay) == (4.5, 0.25)


def test_the_new_moderation_name_wins_over_the_old_one() -> None:
    settings = ModerationSettings.from_env(
        {"ZVONAR_MODERATION_RETRY_DELAY": "9", "MODERATION_RETRY_DELAY": "0.5"}
    )
    assert settings.retry_delay == 0.5
    with pytest.raises(SettingsError, match=r"ZVONAR_MODERATION_COMMAND_TIMEOUT: .*'soon'"):
        ModerationSettings.from_env({"ZVONAR_MODERATION_COMMAND_TIMEOUT": "soon"})
