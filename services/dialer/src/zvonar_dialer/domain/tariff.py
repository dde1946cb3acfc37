"""The tariff: what an answered call costs, computed exactly in Decimal kopecks.

Prices are per minute; a call is billed in whole increments with a minimum, and
surcharges per minute apply for speech recognition and for recording.
"""

from __future__ import annotations

import math
import tomllib
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import msgspec

DEFAULT_TARIFF_PATH = Path(__file__).resolve().parent.parent / "tariff.toml"
_KOPECK = Decimal("0.01")
_SIXTY = Decimal(60)


class TariffError(ValueError):
    """A tariff file that cannot be used."""


class Tariff(msgspec.Struct, frozen=True):
    price_per_minute: Decimal
    billing_increment_s: int
    minimum_s: int
    recognition_surcharge_per_minute: Decimal
    recording_surcharge_per_minute: Decimal


def _decimal(raw: dict[str, Any], key: str) -> Decimal:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TariffError(f"tariff field {key!r} must be a number or a numeric string")
    try:
        # Floats go through str() so that 1.8 means 1.80, not its binary neighbour.
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise TariffError(f"tariff field {key!r} is not a number: {value!r}") from exc
    if not amount.is_finite() or amount < 0:
        raise TariffError(f"tariff field {key!r} must be a non-negative number")
    return amount


def _seconds(raw: dict[str, Any], key: str, *, positive: bool) -> int:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < (1 if positive else 0):
        kind = "a positive" if positive else "a non-negative"
        raise TariffError(f"tariff field {key!r} must be {kind} whole number of seconds")
    return value


def parse_tariff(raw: dict[str, Any]) -> Tariff:
    return Tariff(
        price_per_minute=_decimal(raw, "price_per_minute"),
        billing_increment_s=_seconds(raw, "billing_increment_s", positive=True),
        minimum_s=_seconds(raw, "minimum_s", positive=False),
        recognition_surcharge_per_minute=_decimal(raw, "recognition_surcharge_per_minute"),
        recording_surcharge_per_minute=_decimal(raw, "recording_surcharge_per_minute"),
    )


def load_tariff(path: Path | None = None) -> Tariff:
    """Reads a tariff TOML file (the one shipped with the dialer by default)."""
    source = path or DEFAULT_TARIFF_PATH
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TariffError(f"cannot read tariff {source}: {exc}") from exc
    return parse_tariff(raw)


def billed_seconds(tariff: Tariff, duration_s: float) -> int:
    """Duration rounded up to the increment, never below the minimum."""
    if duration_s < 0 or not math.isfinite(duration_s):
        raise ValueError(f"call duration must be a non-negative number, got {duration_s!r}")
    increment = tariff.billing_increment_s
    # Decimal keeps 60.0000000001-style float noise from buying a whole extra increment.
    seconds = Decimal(repr(duration_s)).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
    increments = math.ceil(seconds / increment)
    return max(tariff.minimum_s, increments * increment)


def rate_per_minute(tariff: Tariff, *, recognition: bool, recording: bool) -> Decimal:
    """The price of a minute with each surcharge that applies to the campaign."""
    rate = tariff.price_per_minute
    if recognition:
        rate += tariff.recognition_surcharge_per_minute
    if recording:
        rate += tariff.recording_surcharge_per_minute
    return rate


def charge(
    tariff: Tariff, duration_s: float, *, answered: bool, recognition: bool, recording: bool
) -> tuple[int, Decimal]:
    """(billed seconds, cost in roubles rounded half-up to kopecks) of one call."""
    if not answered:
        return 0, Decimal("0.00")
    billed = billed_seconds(tariff, duration_s)
    rate = rate_per_minute(tariff, recognition=recognition, recording=recording)
    cost = (Decimal(billed) * rate / _SIXTY).quantize(_KOPECK, rounding=ROUND_HALF_UP)
    return billed, cost


__all__ = [
    "DEFAULT_TARIFF_PATH",
    "Tariff",
    "TariffError",
    "billed_seconds",
    "charge",
    "load_tariff",
    "parse_tariff",
    "rate_per_minute",
]
