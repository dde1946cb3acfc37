"""The single-service benches written beside this one (bench/campaign_create.py,
bench/dialer_calls.py, bench/stats_pipeline.py, bench/sip_calls.py, bench/consumer.py),
called through their own entry points and turned into rows of the table. A bench not
written yet is a row that says so."""

from __future__ import annotations

import asyncio
import importlib
import inspect
from typing import Any

from bench.common import Result

MODULES = {
    "campaign_create": "bench.campaign_create",
    "dialer_calls": "bench.dialer_calls",
    "dialer_idle": "bench.dialer_idle",
    "stats_pipeline": "bench.stats_pipeline",
    "sip": "bench.sip_calls",
    "consumer": "bench.consumer",
}
# Keys the benches use for their figure and their baseline, most specific first.
FIGURE_KEYS = ("figure", "calls_per_s", "events_per_s", "creates_per_s", "rate", "p99_ms")
BASELINE_KEYS = ("baseline", "raw_publish_per_s", "raw_per_s", "raw_rate", "raw")
# Sizes for benches whose entry point takes a count rather than `quick`.
SIZES = {"calls": (2_000, 10_000), "events": (20_000, 200_000), "count": (200, 1_000)}


def run(name: str, quick: bool) -> Result:
    module_name = MODULES[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        return Result.failed(name, module_name, "—", f"{module_name} not written yet")
    entry = getattr(module, "run", None)
    if entry is None:
        return Result.failed(name, module_name, "—", f"{module_name} has no run()")
    outcome = entry(**_arguments(entry, quick))
    if inspect.iscoroutine(outcome):
        outcome = asyncio.run(outcome)
    return as_result(name, outcome)


def _arguments(entry: Any, quick: bool) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    for parameter in inspect.signature(entry).parameters.values():
        if parameter.name == "quick":
            arguments["quick"] = quick
        elif parameter.name == "postgres":
            arguments["postgres"] = True
        elif parameter.name in SIZES:
            arguments[parameter.name] = SIZES[parameter.name][0 if quick else 1]
    return arguments


def as_result(name: str, outcome: Any) -> Result:
    """A Result as is, or a dict read by the keys the benches use."""
    if isinstance(outcome, Result):
        return outcome
    if not isinstance(outcome, dict):
        raise TypeError(f"{name}: run() gave {type(outcome).__name__}, not a dict")
    figure = _number(outcome, FIGURE_KEYS)
    baseline = _number(outcome, BASELINE_KEYS)
    given_ratio = _number(outcome, ("ratio",))
    met = outcome.get("met", outcome.get("ok"))
    return Result(
        name=name,
        what=str(outcome.get("what", outcome.get("description", name)))[:70],
        figure=figure,
        unit=str(outcome.get("unit", "/s" if figure and "p99" not in str(outcome) else "")),
        goal=str(outcome.get("goal", "—")),
        met=bool(met) if met is not None else None,
        baseline=baseline,
        ratio=given_ratio if given_ratio is not None else _ratio(figure, baseline),
        details=outcome,
    )


def _ratio(figure: float | None, baseline: float | None) -> float | None:
    return figure / baseline if figure and baseline else None


def _number(outcome: dict[str, Any], keys: tuple[str, ...]) -> float | None:
    for key in keys:
        value = outcome.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None
