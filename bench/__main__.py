"""`python -m bench [--quick] [--only ROW ...]`: run every benchmark, print the one table,
write bench/results/<row>.json. A row that fails is reported as such; the others still run."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import traceback
from collections.abc import Awaitable, Callable

from bench import others
from bench.common import Result, machine, table, write_json
from bench.stackrun import bench_stack, start_services

END_TO_END = ("pipeline", "lag", "create", "import", "list", "rebuild")
ALL = (*END_TO_END, *others.MODULES)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (~3 minutes)")
    parser.add_argument("--only", nargs="+", choices=ALL, help="run only these rows")
    args = parser.parse_args()
    wanted = tuple(args.only or ALL)
    started = time.perf_counter()
    print(f"machine: {machine()}", flush=True)
    results = asyncio.run(_end_to_end(wanted, args.quick))
    for name in others.MODULES:
        if name in wanted:
            results.append(_service_bench(name, args.quick))
    for result in results:
        write_json(result, args.quick)
    print()
    print(table(results))
    print(f"\n{len(results)} rows in {time.perf_counter() - started:.0f} s; JSON in bench/results/")


async def _end_to_end(wanted: tuple[str, ...], quick: bool) -> list[Result]:
    """The rows that need the whole stack share one: pipeline fills the streams that lag
    and rebuild then run over; create and import use accounts of their own."""
    from bench import create, lag, list_http, phone_import, pipeline, rebuild
    from zvonar_runtime.jetstream import connect

    rows = [name for name in END_TO_END if name in wanted]
    if not rows:
        return []
    results: list[Result] = []
    with bench_stack(("campaign", "moderation", "stats", "gateway")) as stack:
        nc = await connect(stack.nats_url, "bench")
        try:
            first: Result | None = None
            if "pipeline" in rows:
                first = await _timed(
                    "pipeline", pipeline.GOAL, lambda: pipeline.run(stack, nc, quick)
                )
                results.append(first)
            else:  # the others still need the dialer
                start_services(stack, ("dialer",))
            steps: dict[str, tuple[str, Callable[[], Awaitable[Result]]]] = {
                "lag": (lag.GOAL, lambda: lag.run(stack, nc, quick, first)),
                "create": (create.GOAL, lambda: create.run(stack, quick)),
                "import": (phone_import.GOAL, lambda: phone_import.run(stack, quick)),
                "list": (list_http.GOAL, lambda: list_http.run(stack, nc, quick)),
                # Last: it stops the live stats service to have the cores to itself.
                "rebuild": (rebuild.GOAL, lambda: rebuild.run(stack, nc, quick)),
            }
            for name, (goal, step) in steps.items():
                if name in rows:
                    results.append(await _timed(name, goal, step))
        finally:
            await nc.close()
    return [r for r in results if r.name in wanted]


async def _timed(name: str, goal: str, step: Callable[[], Awaitable[Result]]) -> Result:
    print(f"[{time.strftime('%H:%M:%S')}] {name} …", flush=True)
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    try:
        result = await step()
    except Exception as exc:
        traceback.print_exc()
        result = Result.failed(name, name, goal, f"{type(exc).__name__}: {exc}")
    result.seconds = time.perf_counter() - started
    _note_load(result, load_before)
    print(
        f"[{time.strftime('%H:%M:%S')}] {name}: {result.figure} {result.unit} "
        f"(baseline {result.baseline}) in {result.seconds:.0f} s, "
        f"load average {load_before:.1f} → {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return result


def _note_load(result: Result, before: float) -> None:
    """The 1-minute load average at the row's start and end: the machine is shared, and a
    figure means little without it."""
    result.details["load_average_start_end"] = [round(before, 2), round(os.getloadavg()[0], 2)]


def _service_bench(name: str, quick: bool) -> Result:
    print(f"[{time.strftime('%H:%M:%S')}] {name} …", flush=True)
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    try:
        result = others.run(name, quick)
    except Exception as exc:
        traceback.print_exc()
        result = Result.failed(name, others.MODULES[name], "—", f"{type(exc).__name__}: {exc}")
    result.seconds = time.perf_counter() - started
    _note_load(result, load_before)
    return result


if __name__ == "__main__":
    main()
