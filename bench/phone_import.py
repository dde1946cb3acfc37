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


def bare_loop(path: Path) -> tuple[int, float]:
    """(numbers kept, seconds): the same file parsed, validated, formatted, deduplicated."""
    started = time.perf_counter()
    seen: dict[str, None] = {}
    with path.open(encoding="utf-8") as lines:
        next(lines)
        for line in lines:
            value = line.split(",", 1)[0]
            try:
                number = phonenumbers.parse(value, "RU")
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                seen[phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)] = None
    return len(seen), time.perf_counter() - started


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
        rss_before = peak_rss_mb(gateway)
        campaign = {"name": "import bench", "audio": TTS, "start_at": FAR_FUTURE}
        started = time.perf_counter()
        async with httpx.AsyncClient(
            base_url=stack.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=600
        ) as client:
            with path.open("rb") as upload:
                response = await client.post(
                    "/api/v1/campaigns",
                    files={"phones_file": ("base.csv", upload, "text/csv")},
                    data={"campaign": json.dumps(campaign)},
                )
        seconds = time.perf_counter() - started
        if response.status_code != 201:
            raise RuntimeError(f"upload answered {response.status_code}: {response.text[:300]}")
        rss = peak_rss_mb(gateway)
        imported = response.json()["size"]["total"]
        kept, baseline = await asyncio.to_thread(bare_loop, path)
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
            "gateway_peak_rss_mb": rss,
            "gateway_peak_rss_before_mb": rss_before,
            "file_bytes": path.stat().st_size if path.exists() else None,
        },
    )
