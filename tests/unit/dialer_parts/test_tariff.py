"""Call costs: minimum, increments, surcharges, half-up kopecks, free when unanswered."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from zvonar_dialer.domain.tariff import Tariff, TariffError, charge, load_tariff

PLAIN = {"answered": True, "recognition": False, "recording": False}


def test_the_shipped_tariff_charges_1_80_for_a_one_minute_call() -> None:
    tariff = load_tariff()
    assert tariff.price_per_minute == Decimal("1.80")
    assert charge(tariff, 60.0, **PLAIN) == (60, Decimal("1.80"))


def test_short_calls_pay_the_minimum() -> None:
    assert charge(load_tariff(), 3.5, **PLAIN) == (60, Decimal("1.80"))


def test_duration_is_rounded_up_to_the_increment() -> None:
    tariff = load_tariff()
    assert charge(tariff, 60.001, **PLAIN) == (120, Decimal("3.60"))
    assert charge(tariff, 125.0, **PLAIN) == (180, Decimal("5.40"))


def test_float_noise_does_not_buy_an_extra_increment() -> None:
    assert charge(load_tariff(), 0.1 + 0.2 + 59.7, **PLAIN)[0] == 60


def test_surcharges_apply_per_minute_when_their_option_is_on() -> None:
    tariff = load_tariff()
    recognition = charge(tariff, 61, answered=True, recognition=True, recording=False)
    recording = charge(tariff, 61, answered=True, recognition=False, recording=True)
    both = charge(tariff, 61, answered=True, recognition=True, recording=True)
    assert recognition == (120, Decimal("4.60"))
    assert recording == (120, Decimal("4.20"))
    assert both == (120, Decimal("5.20"))


def test_unanswered_calls_are_free() -> None:
    assert charge(load_tariff(), 30, answered=False, recognition=True, recording=True) == (
        0,
        Decimal("0.00"),
    )


def test_cost_rounds_half_up_to_kopecks() -> None:
    per_second = Tariff(
        price_per_minute=Decimal("0.03"),
        billing_increment_s=1,
        minimum_s=0,
        recognition_surcharge_per_minute=Decimal("0"),
        recording_surcharge_per_minute=Decimal("0"),
    )
    # 10 s at 0.03/min = 0.005 exactly: half-up gives 0.01 (banker's rounding would give 0.00).
    assert charge(per_second, 10, **PLAIN) == (10, Decimal("0.01"))
    assert charge(per_second, 9, **PLAIN) == (9, Decimal("0.00"))  # 0.0045


def test_a_tariff_file_is_read_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "tariff.toml"
    path.write_text(
        'price_per_minute = "2.40"\nbilling_increment_s = 30\nminimum_s = 30\n'
        'recognition_surcharge_per_minute = "0"\nrecording_surcharge_per_minute = 0.6\n'
    )
    tariff = load_tariff(path)
    assert tariff.recording_surcharge_per_minute == Decimal("0.6")
    assert charge(tariff, 31, **PLAIN) == (60, Decimal("2.40"))


def test_a_bad_tariff_file_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "tariff.toml"
    path.write_text('price_per_minute = "cheap"\n')
    with pytest.raises(TariffError, match="price_per_minute"):
        load_tariff(path)
    with pytest.raises(TariffError, match="cannot read"):
        load_tariff(tmp_path / "missing.toml")


def test_a_negative_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        charge(load_tariff(), -1, **PLAIN)
