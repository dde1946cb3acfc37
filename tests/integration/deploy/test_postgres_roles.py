"""The PostgreSQL roles make-secrets.sh writes (one per service, owning its schema) work on a
real server: each service's DATABASE_URL connects, the runtime's store creates its schema
and tables there, and a service cannot touch another service's schema."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.conftest import PG_ADMIN_URL
from zvonar_contracts.subjects import SERVICES
from zvonar_runtime.db import Cursor, Database

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[3]


def _env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


@pytest.fixture
def made(pg_database_factory: Callable[[], str], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A fresh database and an overlay's secrets made for it; the roles dropped after."""
    url = pg_database_factory()
    parts = urlsplit(url)
    prefix = f"zt{secrets.token_hex(4)}_"  # roles are server-wide: unique per test run
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources: []\n")
    result = subprocess.run(
        ["bash", str(ROOT / "deploy" / "k8s" / "make-secrets.sh"), str(overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "ZVONAR_PG_HOST": parts.hostname or "127.0.0.1",
            "ZVONAR_PG_PORT": str(parts.port or 5432),
            "ZVONAR_PG_DATABASE": parts.path.lstrip("/"),
            "ZVONAR_PG_ROLE_PREFIX": prefix,
        },
    )
    assert result.returncode == 0, result.stderr
    yield url, overlay / "secrets"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        # The roles own schemas in the database: it goes first.
        admin.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')
        for service in SERVICES:
            admin.execute(f'DROP ROLE IF EXISTS "{prefix}{service}"')


def test_each_service_owns_its_schema_and_only_that(made: tuple[str, Path]) -> None:
    url, folder = made
    with psycopg.connect(url, autocommit=True) as admin:
        # Only the server's owner may create in public: the roles get nothing there.
        admin.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        admin.execute((folder / "postgres-roles.sql").read_text())
    urls = {s: _env_file(folder / f"{s}.env")["DATABASE_URL"] for s in SERVICES}
    assert len({urlsplit(u).username for u in urls.values()}) == len(SERVICES)

    def create(cur: Cursor) -> None:
        cur.execute("CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY)")
        cur.execute("INSERT INTO probe (id) VALUES (1) ON CONFLICT DO NOTHING")

    for service, service_url in urls.items():
        # What every service does at start: CREATE SCHEMA IF NOT EXISTS, then its tables.
        db = Database.from_settings(service_url, Path("unused"), service, workers=1)
        try:
            db.run_sync(create)
            assert (
                db.run_sync(lambda cur: cur.execute("SELECT count(*) FROM probe").fetchone())[0]
                == 1
            )
        finally:
            db.close()
    with psycopg.connect(urls["campaign"], autocommit=True) as campaign:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            campaign.execute("INSERT INTO stats.probe (id) VALUES (2)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            campaign.execute("CREATE TABLE stats.intruder (id INTEGER)")
