"""`zvonar events`: export both streams to JSON lines and tail them from the start."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from zvonar_contracts.call_events import CallCompleted
from zvonar_contracts.campaign_events import CampaignCommentChanged
from zvonar_contracts.codec import encode
from zvonar_contracts.subjects import call_event_subject, campaign_event_subject
from zvonar_devtools.natsserver import NatsServer

pytestmark = pytest.mark.integration
AT = dt.datetime(2026, 6, 17, 13, 0, tzinfo=dt.UTC)


@pytest.fixture
def own_nats(tmp_path: Path) -> Any:
    with NatsServer(tmp_path / "nats") as server:
        yield server


async def _publish(url: str) -> None:
    from zvonar_runtime.jetstream import connect, ensure_jetstream

    nc = await connect(url, "cli-test")
    js = nc.jetstream()
    await ensure_jetstream(js)
    for n in range(3):
        event = CampaignCommentChanged(
            campaign_id=1000001, account_id="acc_1", at=AT, text=f"комментарий {n}"
        )
        await js.publish(campaign_event_subject(1000001, "CampaignCommentChanged"), encode(event))
    call = CallCompleted(
        campaign_id=1000001,
        account_id="acc_1",
        at=AT,
        call_id="c1",
        phone="+79160000001",
        part=0,
        attempt=1,
        started_at=AT,
        outcome="answered",
    )
    await js.publish(call_event_subject(1000001, "CallCompleted"), encode(call))
    await nc.close()


def _zvonar(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NATS_URL=url)
    return subprocess.run(
        [sys.executable, "-m", "zvonar_cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_export_writes_every_event_of_both_streams(own_nats: NatsServer, tmp_path: Path) -> None:
    import asyncio

    asyncio.run(_publish(own_nats.url))
    out = tmp_path / "events.jsonl"
    result = _zvonar(own_nats.url, "events", "export", "--out", str(out), "--hash-key", "k")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "4 events written to" in result.stderr
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["stream"] for line in lines] == ["CAMPAIGN_EVENTS"] * 3 + ["CALL_EVENTS"]
    assert lines[2]["event"]["text"] == "комментарий 2"
    assert lines[3]["type"] == "CallCompleted"
    assert lines[3]["event"]["phone"].startswith("h:")


def test_tail_from_start_prints_json_lines(own_nats: NatsServer) -> None:
    import asyncio

    asyncio.run(_publish(own_nats.url))
    result = _zvonar(own_nats.url, "events", "tail", "campaign", "--from-start", "--limit", "2")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["seq"] for line in lines] == [1, 2]
    assert lines[0]["subject"] == "campaign.events.1000001.CampaignCommentChanged"


def test_export_into_a_pipe_closed_early_ends_quietly(own_nats: NatsServer) -> None:
    """`zvonar events export | head -1`: status 141 as for any writer whose reader left, no
    traceback."""
    import asyncio

    from zvonar_runtime.jetstream import connect, ensure_jetstream

    async def publish_many() -> None:
        nc = await connect(own_nats.url, "cli-test")
        js = nc.jetstream()
        await ensure_jetstream(js)
        text = "x" * 500
        for _ in range(600):  # ~400 kB of JSON lines: more than a pipe holds
            event = CampaignCommentChanged(campaign_id=1000001, account_id="a", at=AT, text=text)
            await js.publish(
                campaign_event_subject(1000001, "CampaignCommentChanged"), encode(event)
            )
        await nc.close()

    asyncio.run(publish_many())
    env = dict(os.environ, NATS_URL=own_nats.url, ZVONAR_EXPORT_HASH_KEY="k")
    process = subprocess.Popen(
        [sys.executable, "-m", "zvonar_cli", "events", "export", "--batch", "50"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    first = json.loads(process.stdout.readline())
    assert first["seq"] == 1
    process.stdout.close()
    assert process.wait(timeout=120) == 141
    err = process.stderr.read().decode()
    assert "Traceback" not in err and "BrokenPipe" not in err, err
