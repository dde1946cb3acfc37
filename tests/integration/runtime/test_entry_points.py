"""Every command of [project.scripts] answers `--help` and `--version` at once, with status
0, and starts nothing: no NATS connection attempt, no data folder, no nats-server."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from zvonar_runtime.cli import package_version

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def _scripts() -> dict[str, tuple[str, str, str]]:
    """command -> (distribution, module, function), from every pyproject.toml."""
    found: dict[str, tuple[str, str, str]] = {}
    for pyproject in sorted(ROOT.glob("*/*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text())["project"]
        for command, target in project.get("scripts", {}).items():
            module, _, function = target.partition(":")
            found[command] = (project["name"], module, function)
    return found


SCRIPTS = _scripts()
# Subcommands of the typer-based commands, each with its own --help.
SUBCOMMANDS = [
    ("zvonar-stats", ["serve"]),
    ("zvonar-stats", ["rebuild"]),
    ("zvonar-stats", ["check"]),
    ("zvonar-campaign", ["relay"]),
    ("zvonar", ["campaigns", "list"]),
    ("zvonar", ["accounts", "create"]),
    ("zvonar", ["events", "export"]),
    ("zvonar", ["events", "tail"]),
]


def test_every_entry_point_is_found() -> None:
    assert set(SCRIPTS) == {
        "zvonar",
        "zvonar-campaign",
        "zvonar-moderation",
        "zvonar-dialer",
        "zvonar-stats",
        "zvonar-gateway",
        "zvonar-run",
    }


def _run(
    command: str, args: list[str], tmp_path: Path, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    """The script's own target, called as the console script would call it."""
    _, module, function = SCRIPTS[command]
    code = f"import sys; sys.argv[0] = {command!r}; from {module} import {function}; {function}()"
    data_dir = tmp_path / "data"
    env = dict(
        os.environ,
        # Nothing listens there: a command that tried to start would wait, not answer.
        NATS_URL="nats://127.0.0.1:9",
        ZVONAR_DATA_DIR=str(data_dir),
        ZVONAR_LOG_FORMAT="json",
        **extra_env,
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert not data_dir.exists(), f"{command} {args} created its data folder: it started"
    assert not (tmp_path / "var").exists(), f"{command} {args} created ./var: it started"
    assert "nats_unreachable" not in done.stdout + done.stderr
    return done


@pytest.mark.parametrize("command", sorted(SCRIPTS))
def test_help_prints_usage_and_exits_0(command: str, tmp_path: Path) -> None:
    done = _run(command, ["--help"], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "usage" in done.stdout.lower()
    assert "--version" in done.stdout


@pytest.mark.parametrize("command", sorted(SCRIPTS))
def test_version_prints_the_package_version_and_exits_0(command: str, tmp_path: Path) -> None:
    done = _run(command, ["--version"], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    distribution = SCRIPTS[command][0]
    assert done.stdout.strip() == package_version(distribution)
    assert "not installed" not in done.stdout


@pytest.mark.parametrize(("command", "args"), SUBCOMMANDS, ids=lambda v: str(v))
def test_subcommand_help_exits_0(command: str, args: list[str], tmp_path: Path) -> None:
    done = _run(command, [*args, "--help"], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "usage" in done.stdout.lower()


def test_an_unknown_argument_is_a_usage_error(tmp_path: Path) -> None:
    done = _run("zvonar-dialer", ["--frobnicate"], tmp_path)
    assert done.returncode == 2
    assert "unrecognized arguments: --frobnicate" in done.stderr


SERVICES = [
    "zvonar-campaign",
    "zvonar-dialer",
    "zvonar-gateway",
    "zvonar-moderation",
    "zvonar-stats",
]


@pytest.mark.parametrize("command", SERVICES)
def test_a_bad_setting_is_one_line_naming_the_variable_and_exit_78(
    command: str, tmp_path: Path
) -> None:
    done = _run(command, [], tmp_path, ZVONAR_STREAM_REPLICAS="three")
    assert done.returncode == 78, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"{command}: ")
    assert "ZVONAR_STREAM_REPLICAS" in line and "'three'" in line
