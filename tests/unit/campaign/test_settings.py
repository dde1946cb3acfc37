"""Configuration: the eventsourcing environment is built from the settings, not os.environ."""

from __future__ import annotations

from pathlib import Path

from zvonar_campaign.adapters.eventstore import eventstore_env
from zvonar_campaign.settings import CampaignSettings


def test_without_a_database_url_the_store_is_a_sqlite_file() -> None:
    env = eventstore_env(None, Path("/data/campaign.sqlite3"))
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    assert env["SQLITE_DBNAME"] == "/data/campaign.sqlite3"


def test_a_database_url_becomes_the_postgres_settings_in_schema_campaign() -> None:
    env = eventstore_env("postgresql://zv%40user:p%3Ass@db.local:6543/zvonar", Path("unused"))
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == (
        "db.local",
        "6543",
        "zvonar",
    )
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("zv@user", "p:ss")
    assert env["POSTGRES_SCHEMA"] == "campaign"


def test_the_relay_can_be_switched_off_and_slowed_for_fault_tests() -> None:
    settings = CampaignSettings.from_env(
        {"CAMPAIGN_RELAY": "0", "CAMPAIGN_RELAY_RECORD_DELAY": "0.2", "ZVONAR_DATA_DIR": "/d"}
    )
    assert (settings.relay, settings.commands, settings.relay_record_delay) == (False, True, 0.2)
    assert settings.service == "campaign"
