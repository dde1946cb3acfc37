"""import: a CSV base of 1,000,000 numbers (quick: 200,000) uploaded as `phones_file` to the
running gateway and accepted (201): seconds, and the gateway process's peak RSS (VmHWM);
baseline: reading and normalising the same file in a bare loop with `phonenumbers`."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

import httpx
import phonenumbers

from bench import profiling
from bench.campaigns import FAR_FUTURE, TTS
from bench.common import Result, ratio
from bench.stackrun import new_account
from tests.stack import Stack

GOAL_SECONDS = 30.0
GOAL_RSS_MB = 500.0
GOAL = "< 30 s, peak RSS < 500 MB"
# The shapes customers' spreadsheets hold, in turn.
_SHAPES = ("+7 {a} {b}-{c}-{d}", "8{a}{b}{c}{d}", "8 ({a}) {b}-{c}-{d}", "7{a}{b}{c}{d}")


def write_csv(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("phone,name\n")
        for i in range(count):
            digits = f"{900 + i // 10_000_000 % 100:03d}{i % 10_000_000:07d}"
            a, b, c, d = digits[:3], digits[3:6], digits[6:8], digits[8:]
            out.write(_SHAPES[i % len(_SHAPES)].format(a=a, b=b, c=c, d=d) + f",client {i}\n")


# The bare loop is linear per line and takes minutes over a million lines on two busy
# cores: it runs over this many lines of the file and its time is scaled to the whole.
BARE_LOOP_LINES = 200_000


def bare_loop(path: Path, lines_in_file: int, timed: int = BARE_LOOP_LINES) -> tuple[int, float]:
    """(numbers kept, seconds for the whole file): the file parsed, validated, formatted
    and deduplicated with `phonenumbers`, one line after another."""
    started = time.perf_counter()
    seen: dict[str, None] = {}
    with path.open(encoding="utf-8") as lines:
        next(lines)
        for index, line in enumerate(lines):
            if index >= timed:
                break
            value = line.split(",", 1)[0]
            try:
                number = phonenumbers.parse(value, "RU")
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                seen[phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)] = None
    measured = min(lines_in_file, timed)
    return len(seen), (time.perf_counter() - started) * lines_in_file / measured


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


async def run(stack: Stack, quick: bool) -> Result:
    count = 200_000 if quick else 1_000_000
    _, key = new_account(stack, "bench import")
    gateway = stack.processes["gateway"].pid
    with tempfile.TemporaryDirectory(prefix="zvonar-bench-import-") as tmp:
        path = Path(tmp) / "base.csv"
        write_csv(path, count)
        file_bytes = path.stat().st_size
        rss_before = peak_rss_mb(gateway)
        profile: dict[str, object] = {}
        started = time.perf_counter()
        with profiling.sampled("import", {"gateway": gateway}, profile):
            response = await _upload(stack.base_url, key, path)
        seconds = time.perf_counter() - started
        if response.status_code != 201:
            raise RuntimeError(f"upload answered {response.status_code}: {response.text[:300]}")
        rss = peak_rss_mb(gateway)
        imported = response.json()["size"]["total"]
        timed = BARE_LOOP_LINES // 4 if quick else BARE_LOOP_LINES
        kept, baseline = await asyncio.to_thread(bare_loop, path, count, timed)
    return Result(
        name="import",
        what=f"{count:,}-number CSV upload → 201 (ratio = s / bare-loop s)",
        figure=seconds,
        unit="s",
        baseline=baseline,
        ratio=ratio(seconds, baseline),
        goal=GOAL,
        met=seconds < GOAL_SECONDS and rss < GOAL_RSS_MB and imported == count,
        note=f"(peak RSS {rss:.0f} MB)",
        details={
            "numbers": count,
            "imported": imported,
            "bare_loop_kept": kept,
            "bare_loop_lines_timed": min(count, timed),
            "gateway_peak_rss_mb": rss,
            "gateway_peak_rss_before_mb": rss_before,
            "file_bytes": file_bytes,
            **profile,
        },
    )


async def _upload(base_url: str, key: str, path: Path) -> httpx.Response:
    campaign = {"name": "import bench", "audio": TTS, "start_at": FAR_FUTURE}
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=600) as client:
        with path.open("rb") as upload:
            return await client.post(
                "/api/v1/campaigns",
                files={"phones_file": ("base.csv", upload, "text/csv")},
                data={"campaign": json.dumps(campaign)},
            )
