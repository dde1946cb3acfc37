"""What every benchmark shares: the result row, its JSON file under bench/results/, the
one printed table, percentiles, and a fresh PostgreSQL database for a run."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
PG_ADMIN_URL = os.environ.get("ZVONAR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass
class Result:
    """One row of the table. `figure` and `baseline` are in `unit`; `ratio` = figure /
    baseline (None where the issue names no baseline); `met` says whether every goal of the
    row holds; `details` keeps the rest (latencies, counts, profile paths)."""

    name: str
    what: str
    figure: float | None
    unit: str
    goal: str
    met: bool | None
    baseline: float | None = None
    ratio: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None
    note: str = ""  # shown beside the figure: latencies, peak memory

    @classmethod
    def failed(cls, name: str, what: str, goal: str, error: str) -> Result:
        return cls(name=name, what=what, figure=None, unit="", goal=goal, met=False, error=error)


def ratio(figure: float, baseline: float) -> float | None:
    return figure / baseline if baseline > 0 else None


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def machine() -> dict[str, Any]:
    """nproc, RAM and CPU model of this machine, as docs/performance.md records them."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ram_kb = 0
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_kb = int(line.split()[1])
    return {
        "commit": _commit(),
        "load_average": os.getloadavg()[0],
        "nproc": os.cpu_count(),
        "ram_gib": round(ram_kb / 1024 / 1024, 1),
        "cpu": model,
        "python": platform.python_version(),
    }


def _commit() -> str:
    """HEAD's short hash, with "+dirty" when the tree has uncommitted changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty.strip() else "")


def write_json(result: Result, quick: bool) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{result.name}.json"
    body = {**asdict(result), "quick": quick, "machine": machine(), "at": time.time()}
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False, default=str) + "\n")
    return path


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    return f"{text} {unit}".strip()


def table(results: Sequence[Result]) -> str:
    """The one table: benchmark | what | figure | baseline in the same run | ratio | goal | met?
    | load average at the row's start → end."""
    header = (
        "benchmark",
        "what",
        "figure",
        "baseline in the same run",
        "ratio",
        "goal",
        "met?",
        "load avg",
    )
    rows = [header]
    for r in results:
        met = "ERROR" if r.error else ("—" if r.met is None else ("yes" if r.met else "NO"))
        load = r.details.get("load_average_start_end")
        rows.append(
            (
                r.name,
                r.what,
                r.error[:60] if r.error else f"{_fmt(r.figure, r.unit)} {r.note}".strip(),
                _fmt(r.baseline, r.unit),
                "—" if r.ratio is None else f"{r.ratio:.2f}×",
                r.goal,
                met,
                f"{load[0]:.1f}→{load[1]:.1f}" if load else "—",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on the server at ZVONAR_TEST_PG, dropped afterwards."""
    import psycopg

    name = f"zvonar_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Stopwatch:
    """`with Stopwatch() as sw: ...` then `sw.seconds`."""

    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started
