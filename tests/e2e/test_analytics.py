"""docs/analytics.md's worked example, run as written: a campaign runs to its end on the
whole stack, the page's export command writes its events to Parquet, and the page's SQL,
run by DuckDB, gives the six counters and the cost the API shows."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.e2e.helpers import create, get, size_tuple, wait_status
from tests.stack import Stack, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

DOC = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"
DIGITS = [f"+7916555000{d}" for d in range(10)]
STOP_LISTED = "+79165550099"
DOC_CAMPAIGN = "2202344"  # the campaign number the page's command names


def block_after(marker: str, language: str) -> str:
    """The fenced block that follows `marker` in docs/analytics.md."""
    text = DOC.read_text(encoding="utf-8")
    assert marker in text, f"{marker} is gone from {DOC.name}"
    rest = text.split(marker, 1)[1].lstrip()
    fence = f"```{language}\n"
    assert rest.startswith(fence), f"no {language} block after {marker}"
    return rest[len(fence) :].split("\n```", 1)[0]


def test_the_documented_duckdb_query_gives_the_api_figures(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = stack.new_account("Аналитика")
    added = client.post("/api/v1/stop-list", json={"phones": [STOP_LISTED]})
    assert added.status_code in (200, 201), added.text
    campaign = create(
        client,
        name="Для аналитика",
        phones=[*DIGITS, STOP_LISTED],
        ivr={"kind": "words", "lead_words": ["да"]},
        amd=True,
    )
    cid = campaign["id"]
    wait_status(client, cid, "finished", timeout=120)

    def settled() -> dict[str, Any] | None:
        shown = get(client, cid)
        return shown if shown["size"]["in_progress"] == 0 else None

    shown = wait_for(settled, 60, 0.2, f"campaign {cid} to have no number in progress")
    # 0–5 and 9 answer, 9 a lead; 6, 7 do not answer; 8 a machine (amd); one stop-listed.
    assert size_tuple(shown["size"]) == (11, 1, 7, 1, 3, 0)
    assert Decimal(shown["cost"]) > 0

    command = shlex.split(block_after("<!-- analytics-export -->", "sh"))
    assert command[:3] == ["zvonar", "events", "export"] and DOC_CAMPAIGN in command
    args = [str(cid) if arg == DOC_CAMPAIGN else arg for arg in command[1:]]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NATS_", "ZVONAR_"))}
    env.update(NATS_URL=stack.nats_url, ZVONAR_EXPORT_HASH_KEY="e2e-analytics", ZVONAR_TIMEOUT="30")
    auth = stack.nats_auth()
    if auth.user:
        env.update(NATS_USER=auth.user, NATS_PASSWORD=auth.password or "")
    done = subprocess.run(
        [sys.executable, "-m", "zvonar_cli", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "export" / "CallCompleted").is_dir(), done.stderr
    exported = b"".join(p.read_bytes() for p in (tmp_path / "export").rglob("*.parquet"))
    assert DIGITS[0].encode() not in exported and DIGITS[0][1:].encode() not in exported

    monkeypatch.chdir(tmp_path)
    rows = duckdb.connect().execute(block_after("<!-- analytics-sql: counters -->", "sql"))
    [row] = [r for r in rows.fetchall() if r[0] == cid]
    assert tuple(row[1:7]) == size_tuple(shown["size"])
    assert Decimal(row[7]) == Decimal(shown["cost"])
