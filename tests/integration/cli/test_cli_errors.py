"""`zvonar` with NATS or the gateway down: one line on stderr, the documented exit code
(3: unreachable; 2: usage), within the timeout, and a traceback only with --debug."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zvonar_cli.export import EVENT_TYPES
from zvonar_runtime.cli import EXIT_UNREACHABLE, EXIT_USAGE

pytestmark = pytest.mark.integration
TIMEOUT = 2.0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _zvonar(*args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ZVONAR_", "NATS_"))}
    environ.update(ZVONAR_TIMEOUT=str(TIMEOUT), **env)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "zvonar_cli", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done, time.monotonic() - started


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{text}"
    assert "Traceback" not in text
    return lines[0]


def test_export_with_nats_down_is_one_line_and_exit_3(tmp_path: Path) -> None:
    url = f"nats://127.0.0.1:{_closed_port()}"
    out = tmp_path / "events.jsonl"
    done, took = _zvonar(
        "events", "export", "--out", str(out), NATS_URL=url, ZVONAR_EXPORT_HASH_KEY="k"
    )
    assert done.returncode == EXIT_UNREACHABLE, done.stderr
    line = _one_line(done.stderr)
    assert line == f"zvonar: no NATS server answered at {url} within {TIMEOUT:g} s"
    assert done.stdout == ""
    assert not out.exists()
    # The timeout, plus the interpreter's start on a busy machine; not a hang.
    assert took < TIMEOUT + 30


def test_tail_with_nats_down_is_one_line_and_exit_3() -> None:
    url = f"nats://127.0.0.1:{_closed_port()}"
    done, _ = _zvonar("events", "tail", "--from-start", NATS_URL=url)
    assert done.returncode == EXIT_UNREACHABLE, done.stderr
    assert _one_line(done.stderr).startswith("zvonar: no NATS server answered at")


def test_campaigns_list_with_the_gateway_down_is_one_line_and_exit_3() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    done, _ = _zvonar("campaigns", "list", ZVONAR_URL=url, ZVONAR_API_KEY="zk_test")
    assert done.returncode == EXIT_UNREACHABLE, done.stderr
    line = _one_line(done.stderr)
    assert line.startswith(f"zvonar: the gateway at {url} does not answer")
    assert done.stdout == ""


def test_a_missing_api_key_is_a_usage_error() -> None:
    done, _ = _zvonar("campaigns", "list")
    assert done.returncode == EXIT_USAGE
    assert _one_line(done.stderr) == "zvonar: set ZVONAR_API_KEY"


def test_debug_shows_the_traceback() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    done, _ = _zvonar("--debug", "campaigns", "list", ZVONAR_URL=url, ZVONAR_API_KEY="zk_test")
    assert done.returncode != 0
    assert "Traceback" in done.stderr or "CliError" in done.stderr
    assert "does not answer" in done.stderr


@pytest.mark.parametrize("args", [["rebuild"], ["check"]], ids=["rebuild", "check"])
def test_stats_operator_commands_with_nats_down_are_one_line_and_exit_3(
    args: list[str], tmp_path: Path
) -> None:
    url = f"nats://127.0.0.1:{_closed_port()}"
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ZVONAR_", "NATS_"))}
    environ.update(NATS_URL=url, ZVONAR_DATA_DIR=str(tmp_path))
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "zvonar_stats", *args, "--timeout", str(TIMEOUT)],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    took = time.monotonic() - started
    assert done.returncode == EXIT_UNREACHABLE, done.stdout + done.stderr
    line = _one_line(done.stderr)
    assert line == f"zvonar-stats: no NATS server answered at {url} within {TIMEOUT:g} s"
    assert done.stdout == ""
    assert not (tmp_path / "events.jsonl").exists()
    assert took < TIMEOUT + 30


@pytest.mark.parametrize(
    ("module", "args", "expected"),
    [
        (
            "zvonar_cli",
            ["campaigns", "list", "--bogus"],
            "zvonar: No such option: --bogus (see 'zvonar campaigns list --help')",
        ),
        (
            "zvonar_cli",
            ["events", "tail", "bogus"],
            "zvonar: Invalid value: stream is campaign or call (see 'zvonar events tail --help')",
        ),
        (
            "zvonar_cli",
            ["events", "export", "--include-phones", "--format", "csv"],
            "zvonar: --format is jsonl or parquet",
        ),
        (
            "zvonar_cli",
            ["events", "export", "--type", "CallDropped"],
            "zvonar: unknown event type CallDropped (one of: " + ", ".join(EVENT_TYPES) + ")",
        ),
        (
            "zvonar_cli",
            ["events", "export"],
            "zvonar: phone numbers are hashed with a key: set ZVONAR_EXPORT_HASH_KEY (or "
            "--hash-key), or pass --include-phones",
        ),
        (
            "zvonar_cli",
            ["events", "export", "--include-phones", "--from-seq", "12"],
            "zvonar: --from-seq is STREAM=SEQUENCE with STREAM campaign or call (campaign=120), "
            "not '12'",
        ),
        (
            "zvonar_cli",
            ["events", "export", "--include-phones", "--since", "yesterday"],
            "zvonar: --since is an ISO 8601 date or date-time (2026-06-17T13:00:00+03:00), "
            "not 'yesterday'",
        ),
        (
            "zvonar_cli",
            ["events", "export", "--include-phones", "--format", "parquet"],
            "zvonar: --format parquet writes a folder: give --out",
        ),
        (
            "zvonar_cli",
            ["events", "export", "--include-phones", "--out", "no/such.jsonl"],
            "zvonar: --out no/such.jsonl: no folder no",
        ),
    ],
    ids=[
        "unknown-option",
        "bad-argument",
        "export-bad-format",
        "export-unknown-type",
        "export-no-hash-key",
        "export-bad-seq",
        "export-bad-time",
        "export-parquet-stdout",
        "export-no-folder",
    ],
)
def test_a_usage_error_is_one_line_and_exit_2(
    module: str, args: list[str], expected: str, tmp_path: Path
) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ZVONAR_", "NATS_"))}
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == EXIT_USAGE, done.stderr
    assert _one_line(done.stderr) == expected
    assert done.stdout == ""
