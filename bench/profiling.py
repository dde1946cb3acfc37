"""Sampling profiles of the service processes while a row runs (BENCH_PROFILE=1): py-spy
attached by pid, run with `uvx py-spy` so the project needs no extra dependency. Each
profile lands in bench/results/profile-<row>-<service>.txt (collapsed stacks) and its top
frames go into the row's JSON."""

from __future__ import annotations

import collections
import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

from bench.common import RESULTS_DIR


def enabled() -> bool:
    return os.environ.get("BENCH_PROFILE") == "1" and shutil.which("uvx") is not None


@contextlib.contextmanager
def sampled(row: str, pids: dict[str, int], into: dict[str, object]) -> Iterator[None]:
    """Sample every process of `pids` for the duration of the block; put each one's top
    frames in `into["profile"][service]`."""
    if not enabled():
        yield
        return
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    recorders: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    for service, pid in pids.items():
        out = RESULTS_DIR / f"profile-{row}-{service}.txt"
        command = [
            "uvx",
            "py-spy",
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--rate",
            "50",
            "--nonblocking",
            "--output",
            str(out),
        ]
        recorders[service] = (
            subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
            out,
        )
    try:
        yield
    finally:
        tops: dict[str, object] = {}
        for service, (recorder, out) in recorders.items():
            recorder.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                recorder.wait(60)
            if out.exists():
                tops[service] = {"file": str(out), **top_frames(out)}
        into["profile"] = tops


def top_frames(path: Path, count: int = 12) -> dict[str, object]:
    """The frames most samples were in (self), and the project's own functions by total."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, number = line.rpartition(" ")
        if not number.isdigit():
            continue
        n = int(number)
        samples += n
        frames = stack.split(";")
        own[frames[-1]] += n
        for frame in set(frames):
            if "zvonar_" in frame:
                total[frame] += n
    return {
        "samples": samples,
        "self": [f"{100 * n / samples:.1f}% {f}" for f, n in own.most_common(count)],
        "zvonar_total": [f"{100 * n / samples:.1f}% {f}" for f, n in total.most_common(count)],
    }
